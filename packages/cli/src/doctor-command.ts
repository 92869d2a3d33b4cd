import { statfs } from 'node:fs/promises';
import { AppError } from '@holdfast/protocol';
import {
  CODE_SCHEMA_VERSION,
  databaseLocation,
  readDatabaseCounts,
  readGeneration,
  readHead,
  readSchemaState,
  redactConfig,
} from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import {
  type BackupCheck,
  checkBackups,
  checkBlobStore,
  checkDrillScratch,
  checkMail,
  checkPermissions,
} from './doctor-checks.js';
import type { Invocation } from './main.js';

const LOW_DISK_BYTES = 1024 ** 3;

/** Reports in words what an operator needs to know; changes nothing. Exit 1 if something needs attention. */
export async function doctorCommand({ config, options, io }: Invocation): Promise<number> {
  const problems: string[] = [];
  const report: Record<string, unknown> = { config: redactConfig(config) };
  let backupsChecked = false;
  try {
    // Opened as it is, never created or migrated: doctor only looks.
    await withDatabase(config, 'inspect', async ({ db }) => {
      const schema = await readSchemaState(db);
      report.schema = { ...schema, codeVersion: CODE_SCHEMA_VERSION };
      if (schema.unknown.length > 0)
        problems.push(`database schema is newer than this Holdfast: ${schema.unknown.join(', ')}`);
      if (schema.pending.length > 0) problems.push(`migrations pending: ${schema.pending.join(', ')}`);
      if (schema.applied.length > 0) {
        report.generation = await readGeneration(db.kysely);
        report.head = await readHead(db.kysely);
        report.counts = await readDatabaseCounts(db);
      }
      report.backupTargets = await checkBackups(config, db, problems);
      backupsChecked = true;
    });
  } catch (error) {
    // A database that cannot be opened or reached: say so, and report no schema rather than an empty one.
    problems.push(error instanceof AppError ? error.message : `database unreadable: ${(error as Error).message}`);
  }
  // Without the database the targets are still checked, only not compared with its head.
  if (!backupsChecked) report.backupTargets = await checkBackups(config, null, problems);
  const blobs = await checkBlobStore(config);
  report.blobs = blobs;
  if (!blobs.ok) problems.push(`blob store ${blobs.location} is unusable: ${blobs.error}`);
  report.permissions = await checkPermissions(config, problems);
  report.drillScratch = await checkDrillScratch(config, problems);
  const mail = await checkMail(config, problems);
  report.mail = mail;
  try {
    const fs = await statfs(config.dataDir);
    const free = fs.bavail * fs.bsize;
    report.disk = { dataDir: config.dataDir, freeBytes: free, totalBytes: fs.blocks * fs.bsize };
    if (free < LOW_DISK_BYTES) problems.push(`less than 1 GiB free in ${config.dataDir}`);
  } catch (error) {
    problems.push(`cannot read free disk space of ${config.dataDir}: ${(error as Error).message}`);
  }
  report.problems = problems;
  if (options.json) io.out(JSON.stringify(report, null, 2));
  else {
    io.out(`Database: ${redactConfig(config).database || databaseLocation(config)}`);
    const schema = report.schema as { version: number; codeVersion: number } | undefined;
    if (schema) io.out(`Schema version: ${schema.version} (this Holdfast: ${schema.codeVersion})`);
    if (report.generation) io.out(`Generation: ${String(report.generation)}  head revision: ${String(report.head)}`);
    if (report.counts) {
      for (const [name, value] of Object.entries(report.counts as Record<string, number>))
        io.out(`  ${name}: ${value}`);
    }
    for (const target of report.backupTargets as BackupCheck[]) {
      const verified =
        target.verifiedAgeSeconds === null
          ? 'never verified'
          : `verified ${Math.round(target.verifiedAgeSeconds / 60)} min ago`;
      io.out(
        `Backup target ${target.target}: ${target.location} ${target.reachable ? `reachable, ${target.lagRevisions ?? '?'} revisions behind, ${verified}` : 'UNREACHABLE'}`,
      );
    }
    io.out(`Blob store: ${blobs.kind} ${blobs.location} ${blobs.ok ? 'ok' : `FAILING (${blobs.error})`}`);
    io.out(
      mail.on
        ? `Mail: on, through ${mail.server} ${mail.ok ? 'ok' : `FAILING (${mail.error})`}`
        : 'Mail: off (smtpUrl is empty): people are not mailed about incidents touching their data; the portal still shows them',
    );
    const disk = report.disk as { freeBytes: number } | undefined;
    if (disk) io.out(`Free disk: ${(disk.freeBytes / 1024 ** 3).toFixed(1)} GiB`);
    io.out('Configuration:');
    for (const [key, value] of Object.entries(report.config as Record<string, unknown>))
      io.out(`  ${key}: ${JSON.stringify(value)}`);
    io.out(
      problems.length === 0 ? 'OK: no problems found.' : `Problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}
