import { createSecretKey, randomBytes } from 'node:crypto';
import { brotliCompressSync, constants } from 'node:zlib';
import { createTestRepository, sha256 } from '@holdfast/test-support/backup-fixtures';
import { directoryHarness, type TargetHarness } from '@holdfast/test-support/backup-targets';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Compression, objectFailure, openEnvelope, openEnvelopeAsync, sealEnvelope } from './envelope.js';
import { decodeJson, objectName, openStoredObject, openStoredObjectAsync, storeObject } from './object-store.js';
import type { Repository } from './repository.js';
import { type JournalSegment, journalSegmentSchema, type Revision } from './schemas.js';

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,15}$/);
const hexArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));
/** Any UTF-16 string, lone surrogates included. */
const textArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 50 }).map((codes) => String.fromCharCode(...codes)),
);
const optionalText = (maxLength: number) => fc.option(fc.string({ maxLength }), { nil: null });
const bodyArb = fc.record({
  userId: idArb,
  collectionId: idArb,
  itemId: fc.option(idArb, { nil: null }),
  op: fc.constantFrom('put' as const, 'delete' as const),
  deviceId: fc.option(idArb, { nil: null }),
  origin: fc.constantFrom('sync', 'dav', 'restore', ''),
  contentType: optionalText(40),
  content: fc.option(textArb, { nil: null }),
  blob: fc.option(fc.record({ sha256: hexArb, contentType: fc.constantFrom('image/jpeg', 'image/heic') }), {
    nil: null,
  }),
  meta: fc.option(
    fc.jsonValue().map((value) => JSON.stringify(value)),
    { nil: null },
  ),
  hash: fc.option(hexArb, { nil: null }),
  size: fc.nat(),
  baseSeq: fc.option(fc.nat(), { nil: null }),
  clientChangeId: optionalText(64),
  at: fc
    .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((date) => date.toISOString()),
});
/** A batch of revisions with increasing (possibly gapped) seqs, as a journal segment would hold. */
const batchArb = fc
  .record({
    start: fc.integer({ min: 1, max: 2 ** 40 }),
    entries: fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), bodyArb), { maxLength: 40 }),
    tail: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ start, entries, tail }) => {
    let seq = start - 1;
    const revisions: Revision[] = entries.map(([step, body]) => {
      seq += step;
      const entity = body.itemId === null ? ('collection' as const) : ('item' as const);
      return body.op === 'delete' ? { seq, entity, ...body, content: null, blob: null } : { seq, entity, ...body };
    });
    return { fromSeq: start, toSeq: Math.max(seq, start) + tail, revisions };
  });

function segmentOf(batch: { fromSeq: number; toSeq: number; revisions: Revision[] }): JournalSegment {
  const blobs: Record<string, string> = {};
  for (const revision of batch.revisions) {
    if (revision.blob) blobs[revision.blob.sha256] = objectName('blob', sha256(revision.blob.sha256));
  }
  return { generation: 'g1', prev: null, createdAt: '2025-01-01T00:00:00.000Z', blobs, ...batch };
}

/** The object failure `open` threw, or 'opened' when it did not throw. */
function failureOf(open: () => unknown): string | null {
  try {
    open();
    return 'opened';
  } catch (error) {
    return objectFailure(error);
  }
}

const compressionArb = fc.constantFrom<Compression>('none', 'gzip', 'brotli');

describe('object codec', () => {
  let harness: TargetHarness;
  let repo: Repository;
  beforeAll(async () => {
    harness = await directoryHarness();
    repo = await createTestRepository(harness.target);
  });
  afterAll(async () => {
    await harness.cleanup();
  });

  it('encode/decode round-trips arbitrary revision batches', async () => {
    const key = createSecretKey(randomBytes(32));
    await fc.assert(
      fc.asyncProperty(batchArb, compressionArb, async (batch, compression) => {
        const segment = journalSegmentSchema.parse(segmentOf(batch));
        const payload = Buffer.from(JSON.stringify(segment), 'utf8');
        const stored = await sealEnvelope(key, 'journal', payload, compression);
        const decoded = decodeJson(
          'journal/x',
          journalSegmentSchema,
          openEnvelope(key, 'journal', stored, 'journal/x'),
        );
        expect(decoded).toEqual(segmentOf(batch));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips arbitrary payloads with every compression', async () => {
    const key = createSecretKey(randomBytes(32));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), compressionArb, async (payload, compression) => {
        const stored = await sealEnvelope(key, 'blob', payload, compression);
        expect(Buffer.compare(openEnvelope(key, 'blob', stored, 'blobs/x'), payload)).toBe(0);
        expect(Buffer.compare(await openEnvelopeAsync(key, 'blob', stored, 'blobs/x'), payload)).toBe(0);
      }),
    );
  });

  it('opens on the thread pool as on the calling thread: payloads of many output chunks, and the same failures', async () => {
    const key = createSecretKey(randomBytes(32));
    const payload = Buffer.from(JSON.stringify({ records: Array.from({ length: 5000 }, (_, i) => `record ${i}`) }));
    for (const compression of ['brotli', 'gzip'] as const) {
      const stored = await sealEnvelope(key, 'snapshot-data', payload, compression);
      expect(Buffer.compare(await openEnvelopeAsync(key, 'snapshot-data', stored, 'data/x'), payload)).toBe(0);
    }
    const name = await storeObject(repo, 'snapshot-data', payload);
    const stored = await harness.target.getObject(name);
    expect(Buffer.compare(await openStoredObjectAsync(repo, 'snapshot-data', name, stored), payload)).toBe(0);
    const asyncFailure = (bytes: Uint8Array) =>
      openStoredObjectAsync(repo, 'snapshot-data', name, bytes).then(
        () => null,
        (error: unknown) => objectFailure(error),
      );
    const damaged = Uint8Array.from(stored);
    damaged[40] = (damaged[40] ?? 0) ^ 1;
    expect(await asyncFailure(damaged)).toBe('corrupted');
    expect(await asyncFailure(stored.subarray(0, stored.length - 1))).toBe('truncated');
    // The compression byte is authenticated: relabelling it is damage, found before decompressing.
    const relabelled = Buffer.from(await sealEnvelope(key, 'snapshot-data', randomBytes(2000), 'none'));
    relabelled[6] = 2;
    await expect(openEnvelopeAsync(key, 'snapshot-data', relabelled, 'data/x')).rejects.toThrow(/authentication/);
  });

  it('lays out the envelope as magic, version, type, compression, length, nonce, ciphertext, tag', async () => {
    const key = createSecretKey(randomBytes(32));
    const stored = Buffer.from(await sealEnvelope(key, 'snapshot', Buffer.from('x'.repeat(1000)), 'brotli'));
    expect(stored.subarray(0, 4).toString('ascii')).toBe('HFBK');
    expect([stored[4], stored[5], stored[6], stored[7]]).toEqual([1, 4, 2, 0]);
    expect(stored.length).toBe(28 + Number(stored.readBigUInt64BE(8)) + 16);
    const again = Buffer.from(await sealEnvelope(key, 'snapshot', Buffer.from('x'.repeat(1000)), 'brotli'));
    expect(again.subarray(16, 28).equals(stored.subarray(16, 28))).toBe(false);
  });

  it('detects any flipped bit anywhere in a stored object', async () => {
    const name = await storeObject(repo, 'journal', Buffer.from(JSON.stringify({ some: 'payload', n: 42 })));
    const stored = await harness.target.getObject(name);
    fc.assert(
      fc.property(fc.nat({ max: stored.length - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
        const damaged = Uint8Array.from(stored);
        damaged[index] = (damaged[index] ?? 0) ^ (1 << bit);
        expect(['corrupted', 'truncated']).toContain(failureOf(() => openStoredObject(repo, 'journal', name, damaged)));
      }),
      { numRuns: 500 },
    );
  });

  it('reports a stored object cut at any length as truncated', async () => {
    const name = await storeObject(repo, 'snapshot-data', randomBytes(300), 'none');
    const stored = await harness.target.getObject(name);
    for (let length = 0; length < stored.length; length++) {
      const failure = failureOf(() => openStoredObject(repo, 'snapshot-data', name, stored.subarray(0, length)));
      expect(failure, `cut at ${length}`).toBe('truncated');
    }
  });

  it('never opens an object with another key, or as another type', async () => {
    const key = createSecretKey(randomBytes(32));
    const stored = await sealEnvelope(key, 'journal', Buffer.from('{}'));
    const wrongKey = () => openEnvelope(createSecretKey(randomBytes(32)), 'journal', stored, 'journal/x');
    expect(wrongKey).toThrow(/authentication failed/);
    expect(() => openEnvelope(key, 'snapshot', stored, 'snapshots/x')).toThrow(/expected 4/);
  });
});

describe('brotli quality', () => {
  const key = createSecretKey(randomBytes(32));
  const payload = Buffer.from(
    Array.from(
      { length: 200 },
      (_, i) => `BEGIN:VCARD\r\nFN:Person ${i}\r\nNOTE:met at ${i % 7}\r\nEND:VCARD\r\n`,
    ).join(''),
  );
  const compressedLength = (quality: number) =>
    brotliCompressSync(payload, { params: { [constants.BROTLI_PARAM_QUALITY]: quality } }).byteLength;

  it('is 1 for journal segments, which writes wait for, and 3 for every other object; readers need not know it', async () => {
    expect(compressedLength(1)).not.toBe(compressedLength(3));
    const journal = await sealEnvelope(key, 'journal', payload);
    const data = await sealEnvelope(key, 'snapshot-data', payload);
    expect(journal.byteLength).toBe(28 + compressedLength(1) + 16);
    expect(data.byteLength).toBe(28 + compressedLength(3) + 16);
    expect(Buffer.from(openEnvelope(key, 'journal', journal, 'j'))).toEqual(payload);
    expect(Buffer.from(openEnvelope(key, 'snapshot-data', data, 'd'))).toEqual(payload);
  });
});
