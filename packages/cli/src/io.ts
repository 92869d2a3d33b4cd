import { createInterface } from 'node:readline';

/** Where a command reads and writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  /** Resolves once what `out` wrote has gone on: a pipe read slowly holds it in memory meanwhile. */
  outDrained?: () => Promise<void>;
  err: (line: string) => void;
  /** Reads a secret: hidden prompt on a terminal, else one line of standard input. */
  readSecret: (prompt: string) => Promise<string>;
  env: Record<string, string | undefined>;
}

/**
 * Stops writing to a stream whose reader went away (`holdfast … | head -1`):
 * the rest of the output has nowhere to go, and that is no failure.
 */
function writer(stream: NodeJS.WriteStream): (line: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return (line) => {
    if (!closed && !stream.destroyed) stream.write(`${line}\n`);
  };
}

function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

let outputs: { out: (line: string) => void; err: (line: string) => void } | undefined;

export function processIo(): Io {
  outputs ??= { out: writer(process.stdout), err: writer(process.stderr) };
  return {
    out: outputs.out,
    outDrained: () => drained(process.stdout),
    err: outputs.err,
    readSecret: (prompt) => (process.stdin.isTTY ? promptHidden(prompt) : readLine()),
    env: process.env,
  };
}

let stdinLines: AsyncIterator<string> | undefined;
async function readLine(): Promise<string> {
  stdinLines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const next = await stdinLines.next();
  return next.done ? '' : next.value;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (char === '\u0003') process.exit(130);
        value = char === '\u007f' ? value.slice(0, -1) : value + char;
      }
    };
    stdin.on('data', onData);
  });
}
