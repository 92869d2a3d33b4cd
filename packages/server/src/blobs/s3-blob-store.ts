import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import type { S3Sdk } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { assertDerivedKey, type BlobPutResult, type BlobStore } from './blob-store.js';
import { assertSha256, consumeVerified, removeStaleFiles, STALE_TMP_MS } from './local-blob-store.js';

const MIB = 1024 * 1024;
/** S3 rejects multipart parts below 5 MiB (except the last one). */
const MIN_PART_SIZE = 5 * MIB;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Prepended to the hash to form the object key, e.g. `holdfast/blobs/`. */
  prefix: string;
  /** For S3-compatible services (MinIO, R2, …); empty or absent means AWS. */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Absent means the AWS SDK default chain (AWS_ACCESS_KEY_ID, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Where bodies are spooled while they are verified; must hold the largest
   * blob accepted. Owned by this store: files older than an hour are deleted
   * at open. Absent means a private directory under the OS temp dir, removed
   * at close.
   */
  spoolDir?: string;
  /** Blobs larger than this are uploaded in parts of this size (default 64 MiB, at least 5 MiB). */
  partSize?: number;
}

/**
 * A blob store in an S3 bucket, one object per blob at `${prefix}${sha256}`,
 * and derived files (thumbnails) at `${prefix}derived/${key}`.
 *
 * The body is spooled to a local file while it is hashed, and uploaded only
 * once the hash is verified, so an object under a blob's key always holds
 * exactly those bytes. Spooling (rather than streaming to a temporary key and
 * copying) means a rejected body costs no S3 requests, a crash leaves no
 * orphan objects in the bucket, and the upload has a known length, which S3
 * requires. Each upload carries its SHA-256 (`x-amz-checksum-sha256`) so
 * S3 itself rejects bytes damaged in transit.
 *
 * As with the local store, a put of a blob already stored still reads and
 * verifies the whole body (without spooling it).
 */
export async function createS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const { bucket, prefix } = options;
  const partSize = options.partSize ?? 64 * MIB;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new AppError('invalid_request', `S3 part size must be a whole number of bytes, at least ${MIN_PART_SIZE}.`);
  }
  const ownsSpoolDir = options.spoolDir === undefined;
  const spoolDir = options.spoolDir ?? (await mkdtemp(join(tmpdir(), 'holdfast-s3-spool-')));
  if (!ownsSpoolDir) {
    await mkdir(spoolDir, { recursive: true });
    await removeStaleFiles(spoolDir, STALE_TMP_MS);
  }

  // The backup package (which loads the S3 SDK) is loaded only by a server that uses S3.
  const { loadS3Sdk } = await import('@holdfast/backup');
  const sdk = loadS3Sdk();
  const { GetObjectCommand, HeadObjectCommand, PutObjectCommand } = sdk;
  const client = new sdk.S3Client({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // We send our own SHA-256 checksum. The SDK's default would instead add a
    // CRC in an aws-chunked trailer, which some S3-compatible servers store
    // verbatim as part of the object, corrupting it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const keyOf = (sha256: string) => `${prefix}${sha256}`;

  async function headSize(sha256: string): Promise<number | null> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(sha256) }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async function upload(sha256: string, file: string, size: number): Promise<void> {
    if (size <= partSize) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: keyOf(sha256),
          Body: createReadStream(file),
          ContentLength: size,
          ContentType: 'application/octet-stream',
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
        }),
      );
    } else {
      await uploadInParts(sdk, client, { bucket, key: keyOf(sha256), file, size, partSize });
    }
  }

  // Serialises check-then-upload per hash, so of concurrent puts through this
  // store exactly one uploads and reports created. Puts from other processes
  // may both upload; they write identical verified bytes, so that is harmless.
  const publishing = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(sha256: string, task: () => Promise<T>): Promise<T> {
    const run = (publishing.get(sha256) ?? Promise.resolve()).then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    publishing.set(sha256, settled);
    void settled.then(() => {
      if (publishing.get(sha256) === settled) publishing.delete(sha256);
    });
    return run;
  }

  async function put(
    sha256: string,
    body: Readable | AsyncIterable<Uint8Array>,
    putOptions: { maxBytes?: number } = {},
  ): Promise<BlobPutResult> {
    assertSha256(sha256);
    if ((await headSize(sha256)) !== null) {
      const size = await consumeVerified(body, sha256, putOptions);
      return { sha256, size, created: false };
    }
    const spool = join(spoolDir, `${sha256}.${randomUUID()}.tmp`);
    try {
      const file = await open(spool, 'wx');
      let size: number;
      try {
        size = await consumeVerified(body, sha256, { ...putOptions, file });
      } finally {
        await file.close();
      }
      const created = await oneAtATime(sha256, async () => {
        if ((await headSize(sha256)) !== null) return false;
        await upload(sha256, spool, size);
        return true;
      });
      return { sha256, size, created };
    } finally {
      await rm(spool, { force: true });
    }
  }

  return {
    kind: 's3',
    put,
    async get(sha256) {
      assertSha256(sha256);
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(sha256) }));
        if (!(object.Body instanceof Readable)) throw new AppError('internal', 'S3 returned no body stream.');
        return object.Body;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async stat(sha256) {
      assertSha256(sha256);
      const size = await headSize(sha256);
      return size === null ? null : { size };
    },
    async readDerived(key) {
      assertDerivedKey(key);
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}derived/${key}` }));
        if (!object.Body) throw new AppError('internal', 'S3 returned no body.');
        return Buffer.from(await object.Body.transformToByteArray());
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async writeDerived(key, bytes) {
      assertDerivedKey(key);
      // A single PUT is atomic in S3: readers get the old object or the whole new one.
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}derived/${key}`,
          Body: bytes,
          ContentLength: bytes.length,
        }),
      );
    },
    async close() {
      client.destroy();
      if (ownsSpoolDir) await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/**
 * Multipart upload for blobs beyond one part; each part carries its own SHA-256.
 *
 * Written here rather than with `@aws-sdk/lib-storage`'s `Upload`, although
 * that would verify parts just as well (`ChecksumAlgorithm: 'SHA256'`): it
 * reads its body into part-sized buffers, whereas the bytes here are already
 * in a spooled file and each part is streamed from it. Uploading a 256 MiB
 * blob in 64 MiB parts to a local S3 server raised peak RSS by about 34 MiB
 * this way, about 230 MiB with `Upload` one part at a time, and about 336 MiB
 * with its default four parts at a time.
 */
async function uploadInParts(
  sdk: S3Sdk,
  client: S3Client,
  target: { bucket: string; key: string; file: string; size: number; partSize: number },
): Promise<void> {
  const {
    AbortMultipartUploadCommand,
    CompleteMultipartUploadCommand,
    CreateMultipartUploadCommand,
    UploadPartCommand,
  } = sdk;
  const { bucket, key, file, size, partSize } = target;
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: 'application/octet-stream',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  if (!UploadId) throw new AppError('internal', 'S3 started a multipart upload without an id.');
  try {
    const parts: CompletedPart[] = [];
    for (let start = 0, partNumber = 1; start < size; start += partSize, partNumber++) {
      const end = Math.min(start + partSize, size);
      const checksum = await sha256OfRange(file, start, end);
      const part = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: partNumber,
          Body: createReadStream(file, { start, end: end - 1 }),
          ContentLength: end - start,
          ChecksumSHA256: checksum,
        }),
      );
      parts.push({ PartNumber: partNumber, ETag: part.ETag, ChecksumSHA256: checksum });
    }
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (err) {
    // Best effort: the upload's original error is the one worth reporting, and
    // parts of an upload that is never completed never become visible (a
    // bucket lifecycle rule can reclaim their space).
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw err;
  }
}

/** Base64 SHA-256 of bytes [start, end) of a file, the form S3 checksums take. */
async function sha256OfRange(file: string, start: number, end: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start, end: end - 1 })) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (err as { name?: unknown }).name;
  return status === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/**
 * Splits `s3://bucket/prefix` into bucket and key prefix. A non-empty prefix
 * always ends in `/`, so `s3://b/holdfast` and `s3://b/holdfast/` both store
 * blobs as `holdfast/<sha256>`.
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  const bucket = match?.[1];
  if (!bucket) throw new AppError('invalid_request', `Not an S3 URL (s3://bucket/prefix): ${url}`);
  const path = match[2] ?? '';
  return { bucket, prefix: path === '' || path.endsWith('/') ? path : `${path}/` };
}
