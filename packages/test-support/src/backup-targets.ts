import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, S3Target, type Target } from '@holdfast/backup';
import { startS3 } from './s3rver.js';

/** A target under test plus the means to break it and to clean up after it. */
export interface TargetHarness {
  target: Target;
  /** Makes the target unreachable: the directory is removed, or the S3 server is stopped. */
  breakTarget(): Promise<void>;
  /** Removes every object behind the target's back (a disk swapped for an empty one, a bucket emptied). */
  wipe(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The target kinds every shared suite runs against. */
export const targetKinds = ['directory', 's3'] as const;

/** A fresh, empty target of `kind`. */
export function createHarness(kind: (typeof targetKinds)[number]): Promise<TargetHarness> {
  return kind === 'directory' ? directoryHarness() : s3Harness();
}

/** A directory target in a new temporary directory. */
export async function directoryHarness(): Promise<TargetHarness> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-dir-target-'));
  const root = join(base, 'repo');
  await mkdir(root);
  const target = new DirectoryTarget(root);
  return {
    target,
    breakTarget: () => rm(root, { recursive: true, force: true }),
    async wipe() {
      await rm(root, { recursive: true, force: true });
      await mkdir(root);
    },
    async cleanup() {
      await target.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * An S3 target on a fresh s3rver. The key prefix and a tiny listing page
 * make every listing cross page boundaries.
 */
export async function s3Harness(): Promise<TargetHarness> {
  const s3 = await startS3();
  const options = { bucket: s3.bucket, prefix: 'backups/holdfast', client: s3.clientConfig, listPageSize: 3 };
  const target = new S3Target(options);
  return {
    target,
    breakTarget: () => s3.stop(),
    async wipe() {
      const raw = new S3Target({ ...options, prefix: '' });
      for (const name of await raw.listObjects('')) await raw.deleteObject(name);
      await raw.close();
    },
    async cleanup() {
      await target.close();
      await s3.cleanup();
    },
  };
}
