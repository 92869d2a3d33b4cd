/**
 * Backup targets for the benches' `backupAck=target` runs: a fresh directory
 * repository, or one in a bucket on s3rver (the S3 server the tests use),
 * each with a cheap KDF so start-up is not measured.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRepository } from '@holdfast/backup';
import { openBackupTarget } from '@holdfast/server';
import { startS3 } from '@holdfast/test-support/s3rver';

export type AckTarget = 'none' | 'directory' | 's3';

/** Which runs to make: HOLDFAST_BENCH_ACK_TARGETS=none,directory,s3 (the default is all three). */
export const ackTargets = (process.env.HOLDFAST_BENCH_ACK_TARGETS ?? 'none,directory,s3')
  .split(',')
  .filter((k): k is AckTarget => k === 'none' || k === 'directory' || k === 's3');

/** How a run is labelled: `local` (no target, acknowledged on the server) or `target:<kind>`. */
export function ackLabel(kind: AckTarget): string {
  return kind === 'none' ? 'local' : `target:${kind === 'directory' ? 'dir' : 's3'}`;
}

const PASSPHRASE = 'bench backup passphrase';

/** Creates the target and returns the server environment that ships to it with `backupAck=target`. */
export async function prepareAckTarget(
  kind: AckTarget,
): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  if (kind === 'none') return { env: { HOLDFAST_BACKUP_TARGETS: '' }, stop: async () => {} };
  const base = await mkdtemp(join(tmpdir(), 'holdfast-bench-target-'));
  let location = join(base, 'target');
  let s3Env: Record<string, string> = {};
  let stopS3 = async () => {};
  if (kind === 'directory') await mkdir(location);
  else {
    const s3 = await startS3();
    stopS3 = s3.cleanup;
    location = `s3://${s3.bucket}/holdfast/`;
    s3Env = {
      HOLDFAST_S3_ENDPOINT: s3.endpoint,
      HOLDFAST_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      HOLDFAST_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
  }
  const target = openBackupTarget(location, {
    s3Endpoint: s3Env.HOLDFAST_S3_ENDPOINT ?? '',
    s3Region: 'us-east-1',
    s3AccessKeyId: s3Env.HOLDFAST_S3_ACCESS_KEY_ID ?? '',
    s3SecretAccessKey: s3Env.HOLDFAST_S3_SECRET_ACCESS_KEY ?? '',
  });
  await initRepository(target, { passphrase: PASSPHRASE }, { kdf: { N: 1024 } });
  await target.close();
  return {
    env: {
      ...s3Env,
      HOLDFAST_BACKUP_TARGETS: location,
      HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
      HOLDFAST_BACKUP_ACK: 'target',
      HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
    },
    stop: async () => {
      await stopS3();
      await rm(base, { recursive: true, force: true });
    },
  };
}
