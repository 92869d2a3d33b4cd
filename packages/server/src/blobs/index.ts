import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@holdfast/protocol';
import type { Config } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { createLocalBlobStore } from './local-blob-store.js';
import { createS3BlobStore, parseS3Url } from './s3-blob-store.js';

export type { BlobPutResult, BlobStore } from './blob-store.js';
export { createLocalBlobStore } from './local-blob-store.js';
export { createS3BlobStore, parseS3Url, type S3BlobStoreOptions } from './s3-blob-store.js';

/** Connection settings for an `s3://` blob store; empty strings count as unset. */
export interface S3Settings {
  /** S3-compatible endpoint URL; unset means AWS. A custom endpoint implies path-style addressing. */
  endpoint?: string;
  /** Unset means the AWS SDK's own lookup (AWS_REGION, profiles). */
  region?: string;
  /** Both or neither; unset means the AWS SDK default credential chain (AWS_ACCESS_KEY_ID, profiles, roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * S3 settings from `HOLDFAST_S3_ENDPOINT`, `HOLDFAST_S3_REGION`,
 * `HOLDFAST_S3_ACCESS_KEY_ID` and `HOLDFAST_S3_SECRET_ACCESS_KEY` (the
 * variables config.ts derives for its s3* fields). Anything unset falls
 * through to the AWS SDK, which reads the standard AWS_* variables.
 */
export function s3SettingsFromEnv(env: Record<string, string | undefined>): S3Settings {
  return {
    endpoint: env.HOLDFAST_S3_ENDPOINT,
    region: env.HOLDFAST_S3_REGION,
    accessKeyId: env.HOLDFAST_S3_ACCESS_KEY_ID,
    secretAccessKey: env.HOLDFAST_S3_SECRET_ACCESS_KEY,
  };
}

/** S3 settings from the config's s3* fields, which back both blob stores and backup targets. */
export function s3SettingsFromConfig(
  config: Pick<Config, 's3Endpoint' | 's3Region' | 's3AccessKeyId' | 's3SecretAccessKey'>,
): S3Settings {
  return {
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
  };
}

/**
 * AWS SDK client settings for `s3`: a custom endpoint implies path-style
 * addressing; whatever is unset falls through to the SDK's own lookup.
 */
export function s3ClientSettings(s3: S3Settings): {
  endpoint?: string;
  forcePathStyle?: boolean;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
} {
  const { accessKeyId, secretAccessKey, endpoint, region } = s3;
  if (!accessKeyId !== !secretAccessKey) {
    throw new AppError('invalid_request', 'Set both the S3 access key id and the secret access key, or neither.');
  }
  return {
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(region ? { region } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}

/**
 * Opens the blob store that `url` names:
 * - empty: a local store in `<dataDir>/blobs`;
 * - `s3://bucket/prefix`: an S3 store configured by `s3`, spooling uploads
 *   in `<dataDir>/blob-spool` (on the data disk rather than a possibly small
 *   tmpfs, since a spool file can be as large as the largest blob);
 * - `file:///path` or a path: a local store there; relative paths are
 *   relative to `dataDir`, like every other path in the config.
 */
export async function openBlobStore(
  url: string,
  dataDir: string,
  s3: S3Settings = s3SettingsFromEnv(process.env),
): Promise<BlobStore> {
  if (url === '') return createLocalBlobStore(join(dataDir, 'blobs'));
  if (url.startsWith('s3://')) {
    return createS3BlobStore({
      ...parseS3Url(url),
      ...s3ClientSettings(s3),
      spoolDir: join(dataDir, 'blob-spool'),
    });
  }
  if (url.startsWith('file:')) return createLocalBlobStore(fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new AppError('invalid_request', `Unsupported blob store URL (use s3:// or a directory): ${url}`);
  }
  return createLocalBlobStore(isAbsolute(url) ? url : resolve(dataDir, url));
}
