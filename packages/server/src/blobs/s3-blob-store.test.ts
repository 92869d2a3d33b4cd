import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3, type TestS3 } from '@holdfast/test-support/s3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { blobStoreContract, chunked, expectBytes, readBlob, sha256Hex } from './blob-store-contract.js';
import { openBlobStore } from './index.js';
import { STALE_TMP_MS } from './local-blob-store.js';
import { createS3BlobStore, parseS3Url, type S3BlobStoreOptions } from './s3-blob-store.js';

const MIB = 1024 * 1024;

let s3: TestS3;
let admin: S3Client;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-s3-spool-test-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  s3 = await startS3();
  admin = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
  });
});
afterAll(async () => {
  admin?.destroy();
  await s3?.cleanup();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function options(extra: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  return {
    bucket: s3.bucket,
    prefix: `test-${randomUUID()}/`,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
    ...extra,
  };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await admin.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (listing.Contents ?? []).map((object) => object.Key ?? '').sort();
}

// 5 MiB parts (the S3 minimum) so the contract's multi-MB blob goes up in parts.
blobStoreContract('s3', () => createS3BlobStore(options({ partSize: 5 * MIB })));

describe('S3 blob store', () => {
  let spoolDir: string;
  beforeEach(async () => {
    spoolDir = await tempDir();
  });

  it('stores each blob at <prefix><sha256> and nothing else, whatever the outcome', async () => {
    const opts = options({ spoolDir });
    const store = await createS3BlobStore(opts);
    const bytes = randomBytes(100_000);
    const sha256 = sha256Hex(bytes);
    await Promise.allSettled([
      store.put(sha256, chunked(bytes)),
      store.put(sha256, chunked(randomBytes(100_000))),
      store.put(sha256Hex(Buffer.from('x')), chunked(bytes), { maxBytes: 1000 }),
      store.put(
        sha256Hex(Buffer.from('y')),
        (async function* () {
          yield new Uint8Array(10);
          throw new Error('reset');
        })(),
      ),
    ]);
    const key = `${opts.prefix}${sha256}`;
    expect(await keysUnder(opts.prefix)).toEqual([key]);
    // One plain write of the final key: no temporary objects, no rewrites.
    expect(s3.events.filter((event) => event.key.startsWith(opts.prefix))).toEqual([
      { name: 'ObjectCreated:Put', key },
    ]);
    expect(await readdir(spoolDir)).toEqual([]);
    await store.close();
  });

  it('uploads blobs larger than one part in parts', async () => {
    const opts = options({ partSize: 5 * MIB });
    const store = await createS3BlobStore(opts);
    const bytes = randomBytes(11 * MIB);
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, chunked(bytes));
    const key = `${opts.prefix}${sha256}`;
    expect(s3.events.filter((event) => event.key === key)).toEqual([{ name: 'ObjectCreated:Post', key }]);
    expectBytes(await readBlob(store, sha256), bytes);
    await store.close();
  });

  it('removes stale spool files at open', async () => {
    await writeFile(join(spoolDir, 'crashed.tmp'), 'half a blob');
    const old = new Date(Date.now() - STALE_TMP_MS - 60_000);
    await utimes(join(spoolDir, 'crashed.tmp'), old, old);
    await writeFile(join(spoolDir, 'in-progress.tmp'), 'being written');
    const store = await createS3BlobStore(options({ spoolDir }));
    expect(await readdir(spoolDir)).toEqual(['in-progress.tmp']);
    await store.close();
  });

  it('removes its private spool directory at close', async () => {
    const before = new Set(await readdir(tmpdir()));
    const store = await createS3BlobStore(options());
    const created = (await readdir(tmpdir())).filter(
      (name) => !before.has(name) && name.startsWith('holdfast-s3-spool-'),
    );
    expect(created).toHaveLength(1);
    await store.close();
    expect(await readdir(tmpdir())).not.toContain(created[0]);
  });

  it('creates an explicit spool directory that does not exist yet', async () => {
    const nested = join(spoolDir, 'nested', 'spool');
    const store = await createS3BlobStore(options({ spoolDir: nested }));
    expect((await stat(nested)).isDirectory()).toBe(true);
    await store.close();
  });

  it('rejects part sizes S3 would refuse', async () => {
    await expect(createS3BlobStore(options({ partSize: MIB }))).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('is what openBlobStore opens for an s3:// URL', async () => {
    const dataDir = await tempDir();
    const prefix = `open-${randomUUID()}`;
    const store = await openBlobStore(`s3://${s3.bucket}/${prefix}`, dataDir, {
      endpoint: s3.endpoint,
      region: 'us-east-1',
      ...s3.credentials,
    });
    expect(store.kind).toBe('s3');
    const bytes = Buffer.from('via openBlobStore');
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, chunked(bytes));
    expect(await keysUnder(`${prefix}/`)).toEqual([`${prefix}/${sha256}`]);
    expect(await readdir(join(dataDir, 'blob-spool'))).toEqual([]);
    await store.close();

    await expect(
      openBlobStore(`s3://${s3.bucket}/x`, dataDir, { endpoint: s3.endpoint, accessKeyId: 'only-half' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });
});

describe('parseS3Url', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/holdfast', { bucket: 'bucket', prefix: 'holdfast/' }],
    ['s3://bucket/holdfast/blobs/', { bucket: 'bucket', prefix: 'holdfast/blobs/' }],
  ])('parses %s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each(['', 'bucket/prefix', 's3://', 's3:///prefix', 'https://bucket/prefix'])('rejects %j', (url) => {
    expect(() => parseS3Url(url)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});
