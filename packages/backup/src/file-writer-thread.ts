import { Worker } from 'node:worker_threads';

/**
 * Creates small files durably on one worker thread, for the directory target.
 *
 * A journal segment is written for every acknowledged write, and the write
 * waits for it. Done through the thread pool, creating a segment takes five
 * trips (open, write, link, unlink, directory fsync), and each completion
 * waits until the busy event loop comes round to it: 4-7 ms per segment where
 * the disk needs about 1 ms, which held DAV PUTs with a directory target to
 * about 500-600/s at 8 in flight (bench:dav). This thread runs the whole
 * sequence with synchronous calls and answers once, so a segment costs one
 * message each way.
 *
 * Hand-written, and kept as source text run with `eval`, so it works the same
 * from TypeScript sources under the test runner, from the build and from the
 * command's bundle, none of which could otherwise agree on a worker file's
 * path. It only ever runs this one sequence; anything unusual (a missing
 * directory, an existing name, no hard links) is answered as a failure of its
 * step, and the caller takes its general path.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_DSYNC ?? 0);
function failure(id, step, error) {
  return { id, step, code: error && error.code, syscall: error && error.syscall, message: String(error && error.message) };
}
parentPort.on('message', ({ id, dir, tmp, path, bytes }) => {
  let step = 'open';
  let fd = -1;
  let created = false;
  try {
    fd = fs.openSync(tmp, FLAGS, 0o600);
    created = true;
    step = 'write';
    let written = 0;
    while (written < bytes.byteLength) written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
    if (fs.constants.O_DSYNC === undefined || bytes.byteLength === 0) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    step = 'link';
    fs.linkSync(tmp, path);
    step = 'unlink';
    fs.unlinkSync(tmp);
    created = false;
    step = 'fsync';
    // As fsyncDir: Windows cannot open a directory for fsync, and NTFS journals its entries itself.
    if (process.platform !== 'win32') {
      const dirFd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    }
    parentPort.postMessage({ id });
  } catch (error) {
    if (fd >= 0) try { fs.closeSync(fd); } catch {}
    if (created) try { fs.unlinkSync(tmp); } catch {}
    parentPort.postMessage(failure(id, step, error));
  }
});
`;

/** The step of the sequence that failed. */
export type FileWriteStep = 'open' | 'write' | 'link' | 'unlink' | 'fsync' | 'thread';

/** A failed step, with the file system's error code (as Node's own errors carry it). */
export interface FileWriteFailure extends Error {
  step: FileWriteStep;
  code: string | undefined;
}

function writeFailure(step: FileWriteStep, code: string | undefined, message: string): FileWriteFailure {
  return Object.assign(new Error(message), { step, code });
}

/** The failed step when `error` came from the writer thread, else null. */
export function failedStep(error: unknown): FileWriteStep | null {
  const step = (error as Partial<FileWriteFailure> | null)?.step;
  return typeof step === 'string' ? step : null;
}

interface Reply {
  id: number;
  step?: FileWriteStep;
  code?: string;
  message?: string;
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The running thread and the writes it has not answered yet. */
interface WriterThread {
  thread: Worker;
  pending: Map<number, Pending>;
}

let current: WriterThread | null = null;
let nextId = 0;
/** Why a thread could not be started, if it could not: writes then take the thread pool for good. */
let cannotStart: string | null = null;

function start(): WriterThread {
  // A few MiB of heap are plenty: the thread holds one message at a time, its
  // bytes outside the heap. A thread that runs out anyway is lost, and its
  // writes take the thread pool.
  const thread = new Worker(WORKER_SOURCE, {
    eval: true,
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1, stackSizeMb: 1 },
  });
  const writer: WriterThread = { thread, pending: new Map() };
  const { pending } = writer;
  thread.on('message', (reply: Reply) => {
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    // An idle thread must not keep a finished command alive.
    if (pending.size === 0) thread.unref();
    if (!waiting) return;
    if (reply.step) waiting.reject(writeFailure(reply.step, reply.code, reply.message ?? 'write failed'));
    else waiting.resolve();
  });
  // Only this thread's writes fail with it; a thread started since has its own.
  const lost = (error: Error) => {
    if (current === writer) current = null;
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(writeFailure('thread', undefined, `file writer thread stopped: ${error.message}`));
    }
  };
  thread.on('error', lost);
  thread.on('exit', (code) => lost(new Error(`exit code ${code}`)));
  return writer;
}

/**
 * Creates `tmp` with `bytes` durably, links it to `path` (failing if `path`
 * exists), removes `tmp` and fsyncs `dir`, all on the writer thread. Rejects
 * with a {@link FileWriteFailure} naming the step. After a failed step the
 * thread has removed `tmp`; after the thread itself was lost (`thread`),
 * `tmp` may remain and is the caller's to remove.
 */
export function createFileOnThread(dir: string, tmp: string, path: string, bytes: Uint8Array): Promise<void> {
  if (cannotStart !== null) return Promise.reject(writeFailure('thread', undefined, cannotStart));
  try {
    current ??= start();
  } catch (error) {
    // A runtime that refuses worker threads (or these resource limits): the thread pool does the work.
    cannotStart = `file writer thread cannot start: ${error instanceof Error ? error.message : String(error)}`;
    return Promise.reject(writeFailure('thread', undefined, cannotStart));
  }
  const { thread, pending } = current;
  thread.ref();
  const id = nextId++;
  // Cloning a view copies its whole backing buffer (often a large shared pool):
  // copy the bytes once into a buffer of their own and move that instead.
  const own = new Uint8Array(bytes);
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    thread.postMessage({ id, dir, tmp, path, bytes: own }, [own.buffer]);
  });
}

/** Stops the writer thread (tests use it to prove a lost thread is replaced). */
export async function stopFileWriterThread(): Promise<void> {
  const writer = current;
  current = null;
  if (writer) await writer.thread.terminate();
}
