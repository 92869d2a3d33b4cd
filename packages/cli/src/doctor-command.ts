import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import {
  CODE_SCHEMA_VERSION,
  databaseLocation,
  openDatabase,
  readDatabaseCounts,
  readGeneration,
  readHead,
  readSchemaState,
  redactConfig,
} from '@holdfast/server';
import type { Invocation } from './main.js';

const LOW_DISK_BYTES = 1024 ** 3;

/** Reports in words what an operator needs to know; changes nothing. Exit 1 if something needs attention. */
export async function doctorCommand({ config, options, io }: Invocation): Promise<number> {
  const problems: string[] = [];
  const report: Record<string, unknown> = { config: redactConfig(config) };
  const location = databaseLocation(config);
  if (!/^postgres/.test(location) && !existsSync(location)) {
    // Opening would create an empty database; doctor only looks.
    problems.push(`no database at ${location} yet (holdfast serve creates it)`);
    report.problems = problems;
    if (options.json) io.out(JSON.stringify(report, null, 2));
    else io.out(`Problems:\n  - ${problems[0]}`);
    return 1;
  }
  const db = openDatabase(location);
  try {
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
  } catch (error) {
    problems.push(`database unreadable: ${(error as Error).message}`);
  } finally {
    await db.close();
  }
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
