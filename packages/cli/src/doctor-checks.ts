import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Config,
  checkDataDirPermissions,
  type Db,
  drillScratchLocation,
  NO_BACKUP_TARGET,
  openBlobStore,
  type PermissionFinding,
  readBackupStatus,
  type TargetStatus,
  targetProblems,
} from '@holdfast/server';

/** A directory something must write into: proven by writing (and removing) a probe file, which works for root too. */
export async function checkWritableDir(
  path: string,
  create: boolean,
): Promise<{ path: string; ok: boolean; error: string | null; freeBytes: number | null }> {
  try {
    if (create) await mkdir(path, { recursive: true, mode: 0o700 });
    const probe = join(path, `.doctor-${randomBytes(6).toString('hex')}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
    const fs = await statfs(path);
    return { path, ok: true, error: null, freeBytes: fs.bavail * fs.bsize };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return { path, ok: false, error: code ?? message, freeBytes: null };
  }
}

export interface BlobCheck {
  kind: 'local' | 's3';
  location: string;
  ok: boolean;
  error: string | null;
}

/** The blob store answers: a local directory is writable, an S3 bucket answers a read. */
export async function checkBlobStore(config: Config): Promise<BlobCheck> {
  if (config.blobs.startsWith('s3://')) {
    const check: BlobCheck = { kind: 's3', location: config.blobs, ok: false, error: null };
    try {
      const store = await openBlobStore(config.blobs, config.dataDir, {
        endpoint: config.s3Endpoint,
        region: config.s3Region,
        accessKeyId: config.s3AccessKeyId,
        secretAccessKey: config.s3SecretAccessKey,
      });
      try {
        // A blob no one stores: the answer "not there" proves the bucket is reachable and readable.
        await store.stat('0'.repeat(64));
        check.ok = true;
      } finally {
        await store.close();
      }
    } catch (error) {
      check.error = (error as Error).message || (error as Error).name;
    }
    return check;
  }
  const location =
    config.blobs === ''
      ? join(config.dataDir, 'blobs')
      : config.blobs.startsWith('file:')
        ? fileURLToPath(config.blobs)
        : resolve(config.blobs);
  // Not there yet (no blob stored so far): the store creates it, so its parent must take it.
  const dir = await checkWritableDir(existsSync(location) ? location : dirname(location), false);
  return { kind: 'local', location, ok: dir.ok, error: dir.error };
}

export interface BackupCheck extends Omit<TargetStatus, 'index'> {
  /** 1-based, as everywhere an operator reads it. */
  target: number;
  verifiedAgeSeconds: number | null;
}

/** Every backup target: reachable, within its lag bound, not full, with a recent verified restore drill. */
export async function checkBackups(
  config: Config,
  db: Db | null,
  problems: string[],
  now = Date.now(),
): Promise<BackupCheck[]> {
  const statuses = await readBackupStatus(config, db, now);
  if (statuses.length === 0) problems.push(NO_BACKUP_TARGET);
  return statuses.map((status) => {
    const target = status.index + 1;
    const verifiedAt = status.newestVerified ? Date.parse(status.newestVerified.verifiedAt) : null;
    const facts = { ...status, name: `backup target ${target} (${status.location})`, verifiedAt };
    problems.push(...targetProblems(config, facts, now));
    const { index: _index, ...rest } = status;
    return { target, ...rest, verifiedAgeSeconds: verifiedAt === null ? null : Math.round((now - verifiedAt) / 1000) };
  });
}

export async function checkPermissions(config: Config, problems: string[]): Promise<PermissionFinding[]> {
  const findings = await checkDataDirPermissions(config.dataDir);
  for (const finding of findings) problems.push(finding.message);
  return findings;
}

export async function checkDrillScratch(config: Config, problems: string[]) {
  const path = drillScratchLocation(config);
  // Created as drills would create it, but never the data directory above it.
  const check = await checkWritableDir(path, existsSync(dirname(path)));
  if (!check.ok) problems.push(`restore drills cannot use their scratch directory ${check.path}: ${check.error}`);
  return check;
}
