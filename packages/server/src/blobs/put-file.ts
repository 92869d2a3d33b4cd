import { closeSync, constants, openSync, read, write } from 'node:fs';
import { fsyncFd } from '@holdfast/node-io';

/*
 * A put's file descriptors, through libuv's thread pool only where the disk is waited for: see
 * createLocalBlobStore.
 */

const PRIVATE_FILE = 0o600;

/**
 * Bodies up to this size are held in memory until they are verified, then
 * written in one step that returns only once the bytes are on disk (O_DSYNC):
 * one trip through the thread pool where writing and then fsyncing take two or
 * more. Larger bodies stream to the file as they arrive.
 */
// No more than a streamed body holds in its read buffers (64 KiB chunks), so memory per upload stays as it was.
export const GATHERED_BLOB_BYTES = 64 * 1024;

/** Open flags of a gathered body's tmp file; without O_DSYNC (some platforms) the write is followed by a fsync. */
const DSYNC_FLAGS =
  constants.O_DSYNC === undefined
    ? null
    : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

export function readFd(fd: number, buffer: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, offset, buffer.length - offset, offset, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/**
 * A put's tmp file. A body that ends within GATHERED_BLOB_BYTES is held in
 * memory and written by `makeDurable` in one synchronous write; a larger one
 * is written as it arrives and fsynced by `makeDurable`. Either way the file
 * exists only from its first write on, and `close` is safe to call always.
 */
export function tmpFile(path: string): ChunkSink & { makeDurable(): Promise<void>; close(): void } {
  let fd: number | null = null;
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const take = () => {
    const all = Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    return all;
  };
  return {
    async write(chunk, offset) {
      const part = chunk.subarray(offset);
      if (fd === null && gatheredBytes + part.byteLength <= GATHERED_BLOB_BYTES) {
        // A copy: the body's producer may reuse its buffer once this resolves.
        gathered.push(Buffer.from(part));
        gatheredBytes += part.byteLength;
        return { bytesWritten: part.byteLength };
      }
      if (fd === null) {
        fd = openSync(path, 'wx', PRIVATE_FILE);
        await writeAll(fdWriter(fd), take());
      }
      return fdWriter(fd).write(chunk, offset);
    },
    async makeDurable() {
      if (fd !== null) return fsyncFd(fd);
      const bytes = take();
      fd = DSYNC_FLAGS === null ? openSync(path, 'wx', PRIVATE_FILE) : openSync(path, DSYNC_FLAGS, PRIVATE_FILE);
      // O_DSYNC makes each write return only once its bytes (and the file's size) are durable; with nothing
      // to write, or no O_DSYNC, the fsync does it.
      if (bytes.byteLength > 0) await writeAll(fdWriter(fd), bytes);
      if (bytes.byteLength === 0 || DSYNC_FLAGS === null) await fsyncFd(fd);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** Writes to a descriptor, in the shape consumeVerified takes. */
function fdWriter(fd: number): ChunkSink {
  return {
    write: (chunk, offset) =>
      new Promise((resolve, reject) =>
        write(fd, chunk, offset, chunk.byteLength - offset, null, (err, bytesWritten) =>
          err ? reject(err) : resolve({ bytesWritten }),
        ),
      ),
  };
}

/** Where consumeVerified writes: a FileHandle, or a descriptor (fdWriter). */
export interface ChunkSink {
  write(chunk: Uint8Array, offset: number): Promise<{ bytesWritten: number }>;
}

export async function writeAll(file: ChunkSink, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset);
    offset += bytesWritten;
  }
}
