import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDir } from '@holdfast/node-io';
import { AppError } from '@holdfast/protocol';
import { assertDerivedKey, type BlobPutResult, type BlobStore } from './blob-store.js';
import { createDirSync } from './dir-sync.js';
import { type ChunkSink, readFd, tmpFile, writeAll } from './put-file.js';

export { type ChunkSink, GATHERED_BLOB_BYTES } from './put-file.js';

/**
 * A tmp file untouched for this long belongs to no live put: every write
 * bumps its mtime, and a put that stalls this long has long lost its client.
 * Younger files are left alone because another process (a backup run, say)
 * may have the same directory open and be writing them right now.
 */
export const STALE_TMP_MS = 60 * 60 * 1000;

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Link errors meaning "this filesystem has no hard links" (some FUSE, SMB and exFAT mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * A blob store in a local directory: `<dir>/ab/cd/abcd…` holds the blob whose
 * SHA-256 is `abcd…`, `<dir>/tmp` holds puts in progress (same
 * filesystem, so publishing is an atomic link), and `<dir>/derived/ab/`
 * holds derived files (thumbnails) of blobs `ab…`.
 *
 * A put of a blob that is already stored still reads and verifies the whole
 * body, without writing it: a caller must prove it has the bytes before it
 * is told they are stored, or anyone who knew a hash could claim the blob.
 */
export async function createLocalBlobStore(dir: string): Promise<BlobStore> {
  const tmpDir = join(dir, 'tmp');
  // Owner-only whatever the umask: blobs are users' files. An existing root is tightened, which also
  // closes off every blob below it.
  const createdRoot = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await chmod(dir, PRIVATE_DIR);
  await mkdir(tmpDir, { recursive: true, mode: PRIVATE_DIR });
  await fsyncDir(dir);
  if (createdRoot !== undefined) await fsyncDir(dirname(dir));
  await removeStaleFiles(tmpDir, STALE_TMP_MS);

  const syncDir = createDirSync();
  // Fan-out directories this store has made durable, so each costs its fsyncs once per process: a top
  // directory (256 of them) its parent's fsync, a leaf (65,536) its top's. A fsync of a directory commits
  // the file system's journal, which on a busy disk is the slowest step of a put.
  const fanOutDirs = new Map<string, Promise<void>>();
  // Fsync the parent even when the directory already existed: a racing put may
  // have created it and not yet made its entry durable.
  const durableDir = (path: string, parent: string): Promise<void> => {
    let ready = fanOutDirs.get(path);
    if (!ready) {
      ready = promised(() => mkdirSync(path, { recursive: true, mode: PRIVATE_DIR })).then(() => syncDir(parent));
      ready.catch(() => fanOutDirs.delete(path));
      fanOutDirs.set(path, ready);
    }
    return ready;
  };
  const ensureFanOutDir = (sha256: string): Promise<void> => {
    const top = join(dir, sha256.slice(0, 2));
    const both = Promise.all([durableDir(top, dir), durableDir(join(top, sha256.slice(2, 4)), top)]);
    return both.then(() => {});
  };
  const blobPath = (sha256: string) => join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);

  /*
   * Every step a put waits for through libuv's thread pool is a trip through the event loop, and on a busy
   * server each trip waits behind everything else the loop has to do: a put that took ten of them queued
   * far longer than any request answered from the database. So only what waits for the disk (writes and
   * fsyncs) goes through the pool; looking a name up, opening, closing, linking and unlinking are calls
   * the kernel answers from its caches, made in place. A new blob costs one synchronous write (a larger one:
   * a write per body chunk and the file's fsync) and then one wait for its directory's fsync (shared with
   * concurrent puts), alongside any of its fan-out directories' still running.
   */
  async function put(
    sha256: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options: { maxBytes?: number } = {},
  ): Promise<BlobPutResult> {
    assertSha256(sha256);
    const path = blobPath(sha256);
    if (fileSizeNow(path) !== null) {
      const size = await consumeVerified(body, sha256, options);
      // A racing put may have linked the file but not yet made its directory entries durable.
      await Promise.all([ensureFanOutDir(sha256), syncDir(dirname(path))]);
      return { sha256, size, created: false };
    }

    const tmp = join(tmpDir, `${sha256}.${randomUUID()}.tmp`);
    const file = tmpFile(tmp);
    // Made now (in place) and durable while the body arrives.
    const fanOut = ensureFanOutDir(sha256);
    fanOut.catch(() => {});
    let published = false;
    try {
      let size: number;
      try {
        size = await consumeVerified(body, sha256, { ...options, file });
        await file.makeDurable();
      } finally {
        file.close();
      }
      let created: boolean;
      try {
        created = publish(tmp, path);
      } catch (error) {
        // A fan-out directory that could not be made is the cause worth reporting.
        await fanOut;
        throw error;
      }
      published = true;
      removeTmp(tmp);
      // The bytes were durable before the name appeared, so a crash leaves the whole blob or none; the names
      // (the blob's, and the fan-out directories' if a slow fsync of theirs is still running) are made durable
      // together, in one wait instead of two in a row, and nothing is answered before all are.
      await Promise.all([fanOut, syncDir(dirname(path))]);
      return { sha256, size, created };
    } finally {
      if (!published) removeTmp(tmp);
    }
  }

  return {
    kind: 'local',
    put,
    async get(sha256) {
      assertSha256(sha256);
      const fd = openIfPresent(blobPath(sha256));
      return fd === null ? null : createReadStream('', { fd });
    },
    async readHead(sha256, limit) {
      assertSha256(sha256);
      const fd = openIfPresent(blobPath(sha256));
      if (fd === null) return null;
      try {
        // One read of the size wanted, where a stream takes a read per 64 KiB and one more to see the end.
        const head = Buffer.allocUnsafe(Math.min(fstatSync(fd).size, limit));
        let filled = 0;
        while (filled < head.length) {
          const n = await readFd(fd, head, filled);
          if (n === 0) break;
          filled += n;
        }
        return head.subarray(0, filled);
      } finally {
        closeSync(fd);
      }
    },
    async stat(sha256) {
      assertSha256(sha256);
      const size = fileSizeNow(blobPath(sha256));
      return size === null ? null : { size };
    },
    async readDerived(key) {
      assertDerivedKey(key);
      try {
        return await readFile(join(dir, 'derived', key.slice(0, 2), key));
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return null;
        throw err;
      }
    },
    async writeDerived(key, bytes) {
      assertDerivedKey(key);
      const folder = join(dir, 'derived', key.slice(0, 2));
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIR });
      // Written beside the blobs' puts and renamed into place, so a reader sees all of it or nothing.
      // A cache: no fsync, a file lost in a crash is made again.
      const tmp = join(tmpDir, `${key}.${randomUUID()}.tmp`);
      try {
        await writeFile(tmp, bytes, { mode: PRIVATE_FILE });
        await rename(tmp, join(folder, key));
      } finally {
        await rm(tmp, { force: true });
      }
    },
    async close() {},
  };
}

/**
 * Moves a verified tmp file to its final path without ever replacing a
 * stored blob. Returns false if the blob was already there.
 */
function publish(tmp: string, path: string): boolean {
  try {
    // link fails with EEXIST instead of replacing, so of racing puts exactly one reports created.
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
  }
  // Without hard links, rename is the atomic publish. A racing put of the same
  // hash carries identical verified bytes, so replacing its file loses nothing;
  // both puts may then report created.
  if (fileSizeNow(path) !== null) return false;
  renameSync(tmp, path);
  return true;
}

/** Runs `step` now, as a promise: what it throws becomes the rejection. */
async function promised(step: () => unknown): Promise<void> {
  step();
}

/** Throws AppError('invalid_request') unless `sha256` is 64 lowercase hex digits. */
export function assertSha256(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) {
    throw new AppError('invalid_request', 'A blob hash is 64 lowercase hex digits.', { sha256: sha256.slice(0, 80) });
  }
}

/**
 * Reads `body` to the end, hashing it and, if `file` is given, writing it
 * there. Throws AppError('payload_too_large') as soon as it passes
 * `maxBytes` (which stops and destroys the body), or AppError('hash_mismatch')
 * at the end unless the SHA-256 is `sha256`. Returns the byte count. The
 * caller owns `file` and must discard it on any error.
 */
export async function consumeVerified(
  body: Readable | AsyncIterable<Uint8Array>,
  sha256: string,
  options: { maxBytes?: number; file?: ChunkSink } = {},
): Promise<number> {
  const { maxBytes = Number.POSITIVE_INFINITY, file } = options;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body as AsyncIterable<unknown>) {
    if (!(chunk instanceof Uint8Array)) throw new AppError('internal', 'A blob body must yield bytes.');
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new AppError('payload_too_large', `The blob is larger than ${maxBytes} bytes.`, { maxBytes });
    }
    hash.update(chunk);
    if (file) await writeAll(file, chunk);
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) {
    throw new AppError('hash_mismatch', 'The body does not hash to the blob id.', { expected: sha256, actual, size });
  }
  return size;
}

/** Removes entries of `dir` not modified in the last `olderThanMs`. */
export async function removeStaleFiles(dir: string, olderThanMs: number): Promise<void> {
  const cutoff = Date.now() - olderThanMs;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return null;
      throw err;
    });
    if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}

/** Removes a put's tmp file, if it is there (one call, where `rm` makes two). */
function removeTmp(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

function fileSizeNow(path: string): number | null {
  return statSync(path, { throwIfNoEntry: false })?.size ?? null;
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * A blob's file opened for reading, or null when it is not stored. Opened in place, like a put's names: a push of
 * a photo reads its head, and a trip through the thread pool for the open would be one more wait behind the event
 * loop.
 */
function openIfPresent(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw err;
  }
}
