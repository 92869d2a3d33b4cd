import { createRequire } from 'node:module';
import type { ListObjectsCommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { AppError } from '@holdfast/protocol';
import {
  assertListPrefix,
  assertObjectName,
  isObjectName,
  sameBytes,
  type Target,
  type TargetFailure,
  targetError,
} from './target.js';

/** How to reach a bucket. */
export interface S3TargetOptions {
  /** The bucket; it must already exist. */
  bucket: string;
  /** Key prefix inside the bucket, e.g. `holdfast/`. A missing trailing `/` is added. */
  prefix?: string;
  /** Passed to `S3Client`: endpoint, region, credentials, forcePathStyle, maxAttempts... */
  client?: S3ClientConfig;
  /**
   * Send `If-None-Match: *` with every PUT (default true), so the store itself
   * refuses to overwrite even when two writers race. Stores that ignore the
   * header are still protected by the read-before-write check; turn this off
   * only for stores that reject the header.
   */
  conditionalWrites?: boolean;
  /** Keys requested per listing page, 1 to 1000 (default 1000). */
  listPageSize?: number;
}

/** The S3 SDK module. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');
let loaded: S3Sdk | undefined;
/**
 * The SDK, loaded when S3 is first used rather than at startup: it costs
 * about 27 MB that a deployment without S3 should not pay. The server's S3
 * blob store loads it through here too, so there is one copy.
 */
export function loadS3Sdk(): S3Sdk {
  loaded ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
  return loaded;
}

/** Error names S3-compatible stores use for "no room" (AWS has none; MinIO and Ceph do). */
const FULL_NAMES = new Set([
  'QuotaExceeded',
  'XMinioStorageFull',
  'XMinioAdminBucketQuotaExceeded',
  'InsufficientStorage',
]);

/** Maps an S3 client error to the target failure it stands for (`full` or `unavailable`). */
export function s3Failure(error: unknown): TargetFailure {
  const { name, status } = describeS3Error(error);
  return FULL_NAMES.has(name) || status === 507 ? 'full' : 'unavailable';
}

/**
 * A target in an S3 bucket (AWS, MinIO, Backblaze B2, Ceph, ...). Each object
 * is one key, `<prefix><name>`.
 *
 * Write-once: a PUT is preceded by a GET of the key; an existing object with
 * the same bytes makes the PUT a no-op, different bytes fail. The PUT itself
 * carries `If-None-Match: *`, so on stores that support conditional writes a
 * racing writer gets 412 and the same comparison runs. The SDK's default
 * request checksums (CRC32) let the store reject bytes damaged in transit.
 *
 * Listing uses ListObjects (v1) with markers: it is supported everywhere,
 * and every page must either end the listing or advance the marker, so a
 * listing is complete or an error.
 */
export class S3Target implements Target {
  readonly description: string;
  readonly #sdk = loadS3Sdk();
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #conditional: boolean;
  readonly #pageSize: number;
  /**
   * Puts of a name that are under way in this process. A second put of the same name waits for the first and
   * then compares, instead of writing the same key at once: a store without conditional writes (s3rver, some
   * self-hosted ones) may not make two simultaneous writes of one key atomic, and it saves the upload.
   */
  readonly #putting = new Map<string, Promise<void>>();

  /** A target in `options.bucket` under `options.prefix`. */
  constructor(options: S3TargetOptions) {
    const prefix = options.prefix ?? '';
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#bucket = options.bucket;
    this.#conditional = options.conditionalWrites ?? true;
    this.#pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.#client = new this.#sdk.S3Client(options.client ?? {});
    this.description = `s3://${this.#bucket}/${this.#prefix}`;
  }

  async putObject(name: string, bytes: Uint8Array): Promise<void> {
    assertObjectName(name, this.description);
    for (let earlier = this.#putting.get(name); earlier; earlier = this.#putting.get(name)) {
      await earlier.catch(() => {});
    }
    const put = this.#putOnce(name, bytes);
    this.#putting.set(name, put);
    try {
      await put;
    } finally {
      if (this.#putting.get(name) === put) this.#putting.delete(name);
    }
  }

  async #putOnce(name: string, bytes: Uint8Array): Promise<void> {
    const existing = await this.#getIfPresent(name);
    if (existing) return this.#compareExisting(name, existing, bytes);
    try {
      await this.#client.send(
        new this.#sdk.PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(name),
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: 'application/octet-stream',
          ...(this.#conditional ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (error) {
      const { name: errorName, status } = describeS3Error(error);
      if (status !== 412 && errorName !== 'PreconditionFailed') throw this.#wrap(error, 'write', name);
      const raced = await this.#getIfPresent(name);
      if (!raced) throw this.#wrap(error, 'write', name);
      this.#compareExisting(name, raced, bytes);
    }
  }

  async getObject(name: string): Promise<Uint8Array> {
    assertObjectName(name, this.description);
    const bytes = await this.#getIfPresent(name);
    if (!bytes) throw targetError('missing', this.description, `object ${name} does not exist`, { object: name });
    return bytes;
  }

  async hasObject(name: string): Promise<boolean> {
    assertObjectName(name, this.description);
    try {
      await this.#client.send(new this.#sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }));
      return true;
    } catch (error) {
      if (describeS3Error(error).status !== 404) throw this.#wrap(error, 'stat', name);
    }
    // A HEAD response has no body, so a missing bucket also looks like a
    // plain 404. Only report absence once the bucket is known to be there.
    try {
      await this.#client.send(new this.#sdk.HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      throw this.#wrap(error, 'open bucket for', name);
    }
    return false;
  }

  async listObjects(prefix: string): Promise<string[]> {
    assertListPrefix(prefix, this.description);
    const names: string[] = [];
    let marker: string | undefined;
    for (;;) {
      let page: ListObjectsCommandOutput;
      try {
        page = await this.#listPage(prefix, marker);
      } catch (error) {
        throw this.#wrap(error, 'list', prefix);
      }
      const contents = page.Contents ?? [];
      for (const entry of contents) {
        const key = entry.Key;
        if (key === undefined || !key.startsWith(this.#prefix)) {
          throw targetError('unavailable', this.description, `listing of ${prefix} returned a foreign key`);
        }
        const name = key.slice(this.#prefix.length);
        if (isObjectName(name)) names.push(name);
      }
      if (page.IsTruncated === false) break;
      const next = page.NextMarker ?? contents.at(-1)?.Key;
      if (page.IsTruncated !== true || next === undefined || next === marker) {
        throw targetError('unavailable', this.description, `listing of ${prefix} stopped without reaching its end`);
      }
      marker = next;
    }
    return names.sort();
  }

  #listPage(prefix: string, marker: string | undefined): Promise<ListObjectsCommandOutput> {
    return this.#client.send(
      new this.#sdk.ListObjectsCommand({
        Bucket: this.#bucket,
        Prefix: this.#key(prefix),
        MaxKeys: this.#pageSize,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
  }

  async deleteObject(name: string): Promise<void> {
    assertObjectName(name, this.description);
    try {
      await this.#client.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }));
    } catch (error) {
      throw this.#wrap(error, 'delete', name);
    }
  }

  async freeSpace(): Promise<number | null> {
    return null;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  /** The object's bytes, or null when the store says the key does not exist. */
  async #getIfPresent(name: string): Promise<Uint8Array | null> {
    try {
      const response = await this.#client.send(
        new this.#sdk.GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }),
      );
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
      if (response.ContentLength !== undefined && response.ContentLength !== bytes.byteLength) {
        throw targetError(
          'unavailable',
          this.description,
          `read of ${name} ended after ${bytes.byteLength} of ${response.ContentLength} bytes`,
          { object: name },
        );
      }
      return bytes;
    } catch (error) {
      // NoSuchKey only: NoSuchBucket, AccessDenied and network errors are failures, not absence.
      if (describeS3Error(error).name === 'NoSuchKey') return null;
      throw this.#wrap(error, 'read', name);
    }
  }

  #compareExisting(name: string, existing: Uint8Array, bytes: Uint8Array): void {
    if (sameBytes(existing, bytes)) return;
    throw targetError('write_once', this.description, `object ${name} already exists with different bytes`, {
      object: name,
    });
  }

  #wrap(error: unknown, operation: string, name: string): AppError {
    if (error instanceof AppError) return error;
    const { name: errorName, status, message } = describeS3Error(error);
    const suffix = status === undefined ? '' : ` (HTTP ${status})`;
    return targetError(
      s3Failure(error),
      this.description,
      `cannot ${operation} ${name} on ${this.description}: ${errorName}${suffix}: ${message}`,
      { object: name, cause: error },
    );
  }
}

function describeS3Error(error: unknown): { name: string; status: number | undefined; message: string } {
  const value = (error ?? {}) as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = value.$metadata?.httpStatusCode;
  return {
    name: typeof value.name === 'string' ? value.name : 'Error',
    status: typeof status === 'number' ? status : undefined,
    message: typeof value.message === 'string' ? value.message : String(error),
  };
}
