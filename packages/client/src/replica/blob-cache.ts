import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '@holdfast/node-io';
import { HoldfastError } from '../errors.js';

/** Bytes to store: a whole buffer, or a stream of chunks (a download; a chunk must not be reused once yielded). */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Content-addressed blob storage on the device (photos, attachments). A blob
 * is stored under its SHA-256 only after its bytes were hashed and matched,
 * so a present blob is always a complete, correct one.
 */
export interface BlobCache {
  has(sha256: string): Promise<boolean>;
  /** The blob's bytes, or null if it is not here. */
  read(sha256: string): Promise<Uint8Array | null>;
  /**
   * Stores bytes that must hash to `sha256` (else `hash_mismatch`, nothing
   * stored). Returns the size. Storing a blob that is already here is a no-op.
   */
  write(sha256: string, source: BlobSource): Promise<number>;
}

const SHA256 = /^[0-9a-f]{64}$/;
const WRITE_BATCH_BYTES = 1 << 20;

function checkName(sha256: string): void {
  if (!SHA256.test(sha256)) throw new HoldfastError('invalid_request', `Not a SHA-256 digest: ${sha256}`);
}

async function* chunksOf(source: BlobSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) yield source;
  else yield* source;
}

function mismatch(expected: string, actual: string): HoldfastError {
  return new HoldfastError('hash_mismatch', `Blob bytes hash to ${actual}, not ${expected}; nothing was stored.`);
}

/** A blob cache in memory (goes with the memory replica). */
export function createMemoryBlobCache(): BlobCache {
  const blobs = new Map<string, Uint8Array>();
  return {
    has: async (sha256) => blobs.has(sha256),
    read: async (sha256) => {
      const bytes = blobs.get(sha256);
      return bytes ? new Uint8Array(bytes) : null;
    },
    async write(sha256, source) {
      checkName(sha256);
      const hash = createHash('sha256');
      const parts: Uint8Array[] = [];
      for await (const chunk of chunksOf(source)) {
        hash.update(chunk);
        parts.push(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== sha256) throw mismatch(sha256, actual);
      const bytes = Buffer.concat(parts);
      blobs.set(sha256, new Uint8Array(bytes));
      return bytes.length;
    },
  };
}

/**
 * A blob cache in a directory: `<dir>/ab/<sha256>`. Writes go to a temporary
 * file that is hashed while written, fsynced, renamed into place and the
 * directory fsynced, so a crash leaves either the whole blob or nothing
 * (a stray file in `<dir>/tmp` is never read as a blob).
 */
export function createFileBlobCache(directory: string): BlobCache {
  const pathOf = (sha256: string) => join(directory, sha256.slice(0, 2), sha256);
  const tmpPrefix = `${process.pid}-${randomBytes(4).toString('hex')}-`;
  let tmpCounter = 0;
  // Directories this cache has made (or found): a blob write costs no mkdir calls after the first in its folder.
  const made = new Map<string, Promise<unknown>>();
  const ensureDirectory = (path: string): Promise<unknown> => {
    let ready = made.get(path);
    if (!ready) {
      ready = mkdir(path, { recursive: true }).catch((error: unknown) => {
        made.delete(path);
        throw error;
      });
      made.set(path, ready);
    }
    return ready;
  };
  const exists = async (path: string) => {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  };
  return {
    has: async (sha256) => SHA256.test(sha256) && exists(pathOf(sha256)),
    async read(sha256) {
      if (!SHA256.test(sha256)) return null;
      try {
        return new Uint8Array(await readFile(pathOf(sha256)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async write(sha256, source) {
      checkName(sha256);
      const target = pathOf(sha256);
      const folder = join(directory, sha256.slice(0, 2));
      const tmpDir = join(directory, 'tmp');
      await Promise.all([ensureDirectory(tmpDir), ensureDirectory(folder)]);
      const tmp = join(tmpDir, `${sha256}.${tmpPrefix}${(tmpCounter++).toString(36)}`);
      const hash = createHash('sha256');
      let size = 0;
      const file = await open(tmp, 'w');
      try {
        // Chunks are gathered and written together (one system call per MiB rather than one per network read).
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        for await (const chunk of chunksOf(source)) {
          hash.update(chunk);
          size += chunk.length;
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH_BYTES) {
            await file.writev(pending);
            pending = [];
            pendingBytes = 0;
          }
        }
        if (pending.length > 0) await file.writev(pending);
        await file.sync();
      } catch (error) {
        await file.close();
        await rm(tmp, { force: true });
        throw error;
      }
      await file.close();
      const actual = hash.digest('hex');
      if (actual !== sha256) {
        await rm(tmp, { force: true });
        throw mismatch(sha256, actual);
      }
      await rename(tmp, target);
      await fsyncDir(folder);
      return size;
    },
  };
}
