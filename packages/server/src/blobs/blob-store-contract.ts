import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError, type ErrorCode } from '@holdfast/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';

/**
 * The behaviour every BlobStore must have. `factory` returns a new, empty
 * store each time; the suite closes it after each test.
 */
export function blobStoreContract(name: string, factory: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it.each([
      ['empty', Buffer.alloc(0)],
      ['small', Buffer.from('hello, holdfast')],
      ['multi-MB', randomBytes(12 * 1024 * 1024 + 123)],
    ])('round-trips a %s blob', async (_label, bytes) => {
      const sha256 = sha256Hex(bytes);
      expect(await store.put(sha256, chunked(bytes))).toEqual({ sha256, size: bytes.length, created: true });
      expect(await store.stat(sha256)).toEqual({ size: bytes.length });
      expectBytes(await readBlob(store, sha256), bytes);
    });

    it('accepts any async iterable of bytes as a body', async () => {
      const bytes = randomBytes(100_000);
      const sha256 = sha256Hex(bytes);
      async function* body() {
        for (let i = 0; i < bytes.length; i += 777) yield new Uint8Array(bytes.subarray(i, i + 777));
      }
      expect(await store.put(sha256, body())).toMatchObject({ size: bytes.length, created: true });
      expectBytes(await readBlob(store, sha256), bytes);
    });

    it('reports a stored blob size in stat and null for unknown blobs', async () => {
      const bytes = randomBytes(4321);
      await store.put(sha256Hex(bytes), chunked(bytes));
      expect(await store.stat(sha256Hex(bytes))).toEqual({ size: 4321 });
      expect(await store.stat(sha256Hex(Buffer.from('never stored')))).toBeNull();
      expect(await store.get(sha256Hex(Buffer.from('never stored')))).toBeNull();
    });

    it('rejects a body that does not match its hash and stores nothing', async () => {
      const claimed = sha256Hex(Buffer.from('the real bytes'));
      await expectAppError(store.put(claimed, chunked(Buffer.from('other bytes'))), 'hash_mismatch');
      expect(await store.stat(claimed)).toBeNull();
      expect(await store.get(claimed)).toBeNull();
      // The failed attempt poisons nothing: the right bytes still go in.
      expect(await store.put(claimed, chunked(Buffer.from('the real bytes')))).toMatchObject({ created: true });
    });

    it('rejects a body over maxBytes and stores nothing', async () => {
      const bytes = randomBytes(300_000);
      const sha256 = sha256Hex(bytes);
      await expectAppError(store.put(sha256, chunked(bytes), { maxBytes: bytes.length - 1 }), 'payload_too_large');
      expect(await store.stat(sha256)).toBeNull();
      expect(await store.get(sha256)).toBeNull();
      expect(await store.put(sha256, chunked(bytes), { maxBytes: bytes.length })).toMatchObject({ created: true });
    });

    it('stops reading a body as soon as it passes maxBytes', async () => {
      let chunksRead = 0;
      let closed = false;
      async function* endless() {
        try {
          for (;;) {
            chunksRead++;
            yield new Uint8Array(64 * 1024);
          }
        } finally {
          closed = true;
        }
      }
      const sha256 = sha256Hex(Buffer.from('whatever'));
      await expectAppError(store.put(sha256, endless(), { maxBytes: 1024 * 1024 }), 'payload_too_large');
      expect(chunksRead).toBeLessThanOrEqual(20); // 1 MiB is 16 chunks; the 17th is over
      expect(closed).toBe(true);
      expect(await store.stat(sha256)).toBeNull();
    });

    it('stores nothing when the body fails midway', async () => {
      const bytes = randomBytes(200_000);
      const sha256 = sha256Hex(bytes);
      async function* failing() {
        yield new Uint8Array(bytes.subarray(0, 100_000));
        throw new Error('connection reset');
      }
      await expect(store.put(sha256, failing())).rejects.toThrow('connection reset');
      const failingStream = new Readable({ read() {} });
      failingStream.push(bytes.subarray(0, 100_000));
      // As on a request body, something always listens: on a slow machine the timer can fire while put() is still
      // awaiting before it reads the stream, and an unlistened 'error' would end the test process instead.
      failingStream.on('error', () => {});
      setTimeout(() => failingStream.destroy(new Error('socket hang up')), 10);
      await expect(store.put(sha256, failingStream)).rejects.toThrow('socket hang up');
      expect(await store.stat(sha256)).toBeNull();
      expect(await store.get(sha256)).toBeNull();
      expect(await store.put(sha256, chunked(bytes))).toMatchObject({ created: true });
    });

    it('treats a re-put as a verified no-op', async () => {
      const bytes = randomBytes(50_000);
      const sha256 = sha256Hex(bytes);
      await store.put(sha256, chunked(bytes));
      expect(await store.put(sha256, chunked(bytes))).toEqual({ sha256, size: bytes.length, created: false });
      // Knowing the hash is not enough: a re-put must still carry the bytes, within the limit.
      await expectAppError(store.put(sha256, chunked(randomBytes(50_000))), 'hash_mismatch');
      await expectAppError(store.put(sha256, chunked(bytes), { maxBytes: 10 }), 'payload_too_large');
      expect(await store.stat(sha256)).toEqual({ size: bytes.length });
      expectBytes(await readBlob(store, sha256), bytes);
    });

    it('handles concurrent puts of the same blob: all succeed, exactly one creates it', async () => {
      const bytes = randomBytes(1024 * 1024);
      const sha256 = sha256Hex(bytes);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.put(sha256, chunked(bytes, 16 * 1024))));
      for (const result of results) expect(result).toMatchObject({ sha256, size: bytes.length });
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expectBytes(await readBlob(store, sha256), bytes);
    });

    it('keeps a concurrent good put when a bad one for the same hash fails', async () => {
      const bytes = randomBytes(256 * 1024);
      const sha256 = sha256Hex(bytes);
      const [good, bad] = await Promise.allSettled([
        store.put(sha256, chunked(bytes, 8 * 1024)),
        store.put(sha256, chunked(randomBytes(256 * 1024), 8 * 1024)),
      ]);
      expect(good).toMatchObject({ status: 'fulfilled', value: { created: true } });
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'hash_mismatch' } });
      expectBytes(await readBlob(store, sha256), bytes);
    });

    it('rejects malformed hashes', async () => {
      const bad = ['', 'abc', sha256Hex(Buffer.from('x')).toUpperCase(), `../${'a'.repeat(61)}`, `${'a'.repeat(64)}/`];
      for (const sha256 of bad) {
        await expectAppError(store.put(sha256, chunked(Buffer.from('x'))), 'invalid_request');
        await expectAppError(store.get(sha256), 'invalid_request');
        await expectAppError(store.stat(sha256), 'invalid_request');
      }
    });

    it('keeps derived files apart from blobs, replaced whole by a later write', async () => {
      const sha256 = sha256Hex(Buffer.from('a photo'));
      const key = `${sha256}-thumb-256.webp`;
      expect(await store.readDerived(key)).toBeNull();
      const first = randomBytes(5000);
      await store.writeDerived(key, first);
      expectBytes(await store.readDerived(key), first);
      // A derived file is not a blob, and the blob it comes from need not be stored.
      expect(await store.stat(sha256)).toBeNull();
      expect(await store.readDerived(`${sha256}-thumb-512.webp`)).toBeNull();
      const second = randomBytes(3000);
      await Promise.all([store.writeDerived(key, second), store.writeDerived(key, second)]);
      expectBytes(await store.readDerived(key), second);
      for (const bad of [
        '',
        sha256,
        `${sha256}-`,
        `${sha256}-../x`,
        `${sha256}-A`,
        `../${sha256}-x`,
        `${'g'.repeat(64)}-x`,
      ]) {
        await expectAppError(store.readDerived(bad), 'invalid_request');
        await expectAppError(store.writeDerived(bad, first), 'invalid_request');
      }
    });
  });
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A Readable that yields `bytes` in `chunkSize` pieces, as a request body would. */
export function chunked(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

export async function readBlob(store: BlobStore, sha256: string): Promise<Buffer | null> {
  const stream = await store.get(sha256);
  if (!stream) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Compares bytes directly: a deep toEqual on multi-MB buffers takes minutes. */
export function expectBytes(actual: Buffer | null, expected: Buffer): void {
  expect(actual?.length).toBe(expected.length);
  expect(actual?.equals(expected), 'stored bytes differ').toBe(true);
}

async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
}
