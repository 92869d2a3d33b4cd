import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';
import { blobStoreContract, chunked, expectBytes, readBlob, sha256Hex } from './blob-store-contract.js';
import { openBlobStore } from './index.js';
import { createLocalBlobStore, GATHERED_BLOB_BYTES, STALE_TMP_MS } from './local-blob-store.js';

/** The thread-pool requests (FSREQ*, FILEHANDLE*) `step` makes: each is a trip through the event loop. */
async function poolTrips<T>(step: () => Promise<T>): Promise<{ value: T; trips: string[] }> {
  const trips: string[] = [];
  const hook = createHook({
    init(_id, type) {
      if (type.startsWith('FSREQ') || type.startsWith('FILEHANDLE')) trips.push(type);
    },
  });
  hook.enable();
  try {
    return { value: await step(), trips };
  } finally {
    hook.disable();
  }
}

/** Puts a small blob in the fan-out directory of `sha256`, so a put of that one finds it ready. */
async function readyFanOut(store: BlobStore, sha256: string): Promise<void> {
  let n = 0;
  let bytes = Buffer.from(`neighbour ${n}`);
  while (sha256Hex(bytes).slice(0, 4) !== sha256.slice(0, 4)) bytes = Buffer.from(`neighbour ${++n}`);
  await store.put(sha256Hex(bytes), chunked(bytes));
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-blobs-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

blobStoreContract('local', async () => createLocalBlobStore(join(await tempDir(), 'blobs')));

describe('local blob store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await tempDir(), 'blobs');
  });

  it('lays blobs out as <dir>/ab/cd/<sha256>', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = Buffer.from('fan out');
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, chunked(bytes));
    expect(await readFile(join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256))).toEqual(bytes);
    await store.close();
  });

  it('leaves no tmp files behind, whatever the outcome', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = randomBytes(200_000);
    const sha256 = sha256Hex(bytes);
    const outcomes = await Promise.allSettled([
      store.put(sha256, chunked(bytes)),
      store.put(sha256, chunked(bytes)),
      store.put(sha256, chunked(randomBytes(200_000))),
      store.put(sha256Hex(Buffer.from('x')), chunked(bytes), { maxBytes: 1000 }),
      store.put(
        sha256Hex(Buffer.from('y')),
        (async function* () {
          yield new Uint8Array(10);
          throw new Error('reset');
        })(),
      ),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    await store.close();
  });

  it('never rewrites a stored blob on re-put', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = randomBytes(10_000);
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, chunked(bytes));
    const path = join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    const before = await stat(path);
    await Promise.all([store.put(sha256, chunked(bytes)), store.put(sha256, chunked(bytes))]);
    const after = await stat(path);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
    await store.close();
  });

  it('waits on the thread pool only for the disk: one synchronous write of a small blob and the directory fsync', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = randomBytes(60_000);
    const sha256 = sha256Hex(bytes);
    // Its fan-out directory ready, what is left is the put itself. Several chunks, as a body arrives from a socket.
    await readyFanOut(store, sha256);
    const { value, trips } = await poolTrips(() => store.put(sha256Hex(bytes), chunked(bytes, 16 * 1024)));
    expect(value).toMatchObject({ created: true });
    // Each request is a trip through the event loop, which on a busy server is what a put waits for.
    expect(trips).toHaveLength(2);
    expectBytes(await readBlob(store, sha256Hex(bytes)), bytes);
    expect((await stat(join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256))).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('streams a blob larger than it gathers to its file as it arrives, then fsyncs it', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = randomBytes(GATHERED_BLOB_BYTES + 100_000);
    await readyFanOut(store, sha256Hex(bytes));
    const { value, trips } = await poolTrips(() => store.put(sha256Hex(bytes), chunked(bytes, 64 * 1024)));
    expect(value).toMatchObject({ created: true, size: bytes.length });
    // The chunks up to the limit in one write, each later chunk in its own, the file's fsync, the directory's.
    const chunksAfter = Math.ceil(
      (bytes.length - Math.floor(GATHERED_BLOB_BYTES / (64 * 1024)) * 64 * 1024) / (64 * 1024),
    );
    expect(trips).toHaveLength(1 + chunksAfter + 2);
    expectBytes(await readBlob(store, sha256Hex(bytes)), bytes);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    await store.close();
  });

  it('reads the head of a blob in one trip, and null for a blob it does not hold', async () => {
    const store = await createLocalBlobStore(dir);
    const bytes = randomBytes(100_000);
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, chunked(bytes));
    const { value, trips } = await poolTrips(async () => store.readHead?.(sha256, 512 * 1024));
    expect(value).toEqual(bytes);
    expect(trips).toHaveLength(1);
    expect(await store.readHead?.(sha256, 1000)).toEqual(bytes.subarray(0, 1000));
    expect(await store.readHead?.(sha256Hex(Buffer.from('absent')), 1000)).toBeNull();
    await store.close();
  });

  it('keeps blobs across reopening', async () => {
    const bytes = randomBytes(5000);
    const sha256 = sha256Hex(bytes);
    const first = await createLocalBlobStore(dir);
    await first.put(sha256, chunked(bytes));
    await first.close();
    const second = await createLocalBlobStore(dir);
    expect(await second.stat(sha256)).toEqual({ size: 5000 });
    expectBytes(await readBlob(second, sha256), bytes);
    expect(await second.put(sha256, chunked(bytes))).toMatchObject({ created: false });
    await second.close();
  });

  it('removes stale tmp files at open and leaves recent ones to their writer', async () => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'crashed.tmp'), 'half a blob');
    await mkdir(join(tmp, 'crashed-dir'));
    const old = new Date(Date.now() - STALE_TMP_MS - 60_000);
    await utimes(join(tmp, 'crashed.tmp'), old, old);
    await utimes(join(tmp, 'crashed-dir'), old, old);
    await writeFile(join(tmp, 'in-progress.tmp'), 'being written');
    const store = await createLocalBlobStore(dir);
    expect(await readdir(tmp)).toEqual(['in-progress.tmp']);
    await store.close();
  });

  it('is what openBlobStore opens for an empty URL or a path', async () => {
    const dataDir = await tempDir();
    const bytes = Buffer.from('via openBlobStore');
    const sha256 = sha256Hex(bytes);
    const fanOut = [sha256.slice(0, 2), sha256.slice(2, 4), sha256];

    const byDefault = await openBlobStore('', dataDir);
    expect(byDefault.kind).toBe('local');
    await byDefault.put(sha256, chunked(bytes));
    expect(await readFile(join(dataDir, 'blobs', ...fanOut))).toEqual(bytes);
    await byDefault.close();

    const relative = await openBlobStore('elsewhere', dataDir);
    await relative.put(sha256, chunked(bytes));
    expect(await readFile(join(dataDir, 'elsewhere', ...fanOut))).toEqual(bytes);
    await relative.close();

    await expect(openBlobStore('gs://bucket/x', dataDir)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
