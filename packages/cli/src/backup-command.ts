import { openRepository } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import {
  backupNow,
  backupSecret,
  backupTargetLocations,
  type Config,
  type Db,
  databaseLocation,
  describeRestore,
  initTargets,
  openBackupTarget,
  type PerTarget,
  pruneTargets,
  type RepositoryCoverage,
  readBackupStatus,
  readCoverage,
  readSchemaState,
  restoreToNewDeployment,
  verifyTargets,
} from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

/** `holdfast backup init|run|status|list|verify|restore|prune`. */
export async function backupCommand(invocation: Invocation): Promise<number> {
  const [verb] = invocation.args;
  const { config, io } = invocation;
  if (verb !== 'restore' && backupTargetLocations(config).length === 0) {
    throw new AppError('invalid_request', 'No backup targets are configured: set backupTargets (--backup-targets).');
  }
  switch (verb) {
    case 'init':
      return report(io, await initTargets(config), (value) => value);
    case 'run':
      return withExistingDatabase(config, async (db) => {
        if (!db) throw new AppError('not_found', `no database at ${databaseLocation(config)}`);
        return report(
          io,
          await backupNow(config, db),
          (v) =>
            `shipped ${v.revisions} revisions in ${v.segments} segments, ${v.blobs} blobs; snapshot at revision ${v.seq}`,
        );
      });
    case 'status':
      return withExistingDatabase(config, (db) => status(invocation, db));
    case 'list':
      return list(invocation);
    case 'verify':
      return withExistingDatabase(config, async (db) => {
        const sample = numberOption(invocation, 'sample');
        const results = await verifyTargets(config, db, sample === undefined ? {} : { sample });
        return report(
          io,
          results,
          (v) => {
            const record = v.verification.record;
            const lines = record.checks.map(
              (c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`,
            );
            for (const error of record.errors) lines.push(`  FAIL ${error}`);
            return `${record.ok ? 'verified' : 'FAILED'} snapshot ${v.snapshot.object} (revision ${v.snapshot.manifest.seq}) in ${Math.round(v.durationMs)} ms\n${lines.join('\n')}`;
          },
          (v) => v.verification.record.ok,
        );
      });
    case 'restore':
      return restore(invocation);
    case 'prune':
      return withExistingDatabase(config, async (db) =>
        report(
          io,
          await pruneTargets(config, db, { dryRun: invocation.options['dry-run'] === true }),
          (v) =>
            `${v.dryRun ? 'would keep' : 'kept'} ${v.keptSnapshots} snapshots, ${v.dryRun ? 'would drop' : 'dropped'} ${v.droppedSnapshots}; deleted ${v.deleted.length} objects, ${v.deferred} wait for the safety margin`,
        ),
      );
    default:
      io.err('Usage: holdfast backup init|run|status|list|verify [--sample N]|prune [--dry-run]');
      io.err('       holdfast backup status|list [--json]');
      io.err(
        '       holdfast backup restore --target N --to-data DIR [--to-database URL] [--at TIME | --seq N] [--generation G]',
      );
      return 2;
  }
}

function report<T>(
  io: Invocation['io'],
  results: PerTarget<T>[],
  describe: (value: T) => string,
  passed: (value: T) => boolean = () => true,
): number {
  let code = 0;
  for (const result of results) {
    if (result.ok) {
      io.out(`target ${result.index + 1} (${result.location}): ${describe(result.value)}`);
      if (!passed(result.value)) code = 1;
    } else {
      io.err(`target ${result.index + 1} (${result.location}): ${result.error}`);
      code = 1;
    }
  }
  return code;
}

/**
 * Opens the database without migrating it (backups must work on a database awaiting an upgrade) and
 * without creating it: a missing database is an error, not an empty one. `null` for a database with no schema.
 */
async function withExistingDatabase<T>(config: Config, work: (db: Db | null) => Promise<T>): Promise<T> {
  return withDatabase(config, 'inspect', async ({ db }) => {
    const schema = await readSchemaState(db);
    return work(schema.applied.length > 0 ? db : null);
  });
}

function age(from: string | number, now: number): string {
  const seconds = Math.max(0, Math.round((now - (typeof from === 'number' ? from : Date.parse(from))) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

function bytes(value: number | null): string {
  if (value === null) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

async function status({ config, io, options }: Invocation, db: Db | null): Promise<number> {
  const now = Date.now();
  const statuses = await readBackupStatus(config, db, now);
  if (options.json) {
    io.out(JSON.stringify(statuses, null, 2));
  } else {
    for (const s of statuses) {
      io.out(`target ${s.index + 1}: ${s.location}`);
      io.out(`  reachable:        ${s.reachable ? 'yes' : `NO (${s.error ?? 'unknown error'})`}`);
      if (!s.reachable) continue;
      io.out(
        `  newest snapshot:  ${s.newestSnapshot ? `revision ${s.newestSnapshot.seq}, ${age(s.newestSnapshot.createdAt, now)}` : 'none'}`,
      );
      io.out(
        `  newest verified:  ${s.newestVerified ? `revision ${s.newestVerified.seq}, verified ${age(s.newestVerified.verifiedAt, now)}` : 'NONE'}`,
      );
      if (s.journalHead) {
        const h = s.journalHead;
        io.out(`  journal head:     revision ${h.seq} of generation ${h.generation}, ${age(h.createdAt, now)}`);
      } else {
        io.out('  journal head:     none');
      }
      if (s.lagRevisions !== null) {
        const restorable = s.restorableSeq === null ? 'nothing of this database' : `up to revision ${s.restorableSeq}`;
        io.out(
          `  restorable:       ${restorable}; would lose ${s.lagRevisions} revisions (${Math.round(s.lagSeconds ?? 0)} s)`,
        );
      }
      if (s.coverage) printCoverage(io, s.coverage, '  ');
      io.out(`  free space:       ${bytes(s.freeBytes)}`);
    }
  }
  if (statuses.length === 1) io.err('warning: only one backup target is configured; losing it loses every backup');
  const restorable = statuses.some((s) => s.reachable && s.newestVerified !== null);
  if (!restorable) io.err('warning: no target has a verified snapshot: a restore right now is unproven');
  return restorable ? 0 : 1;
}

/** Snapshots, histories and what a restore would bring back, for people. */
function printCoverage(io: Invocation['io'], coverage: RepositoryCoverage, indent: string): void {
  io.out(`${indent}snapshots:        ${coverage.snapshots.length}`);
  for (const s of coverage.snapshots) {
    const mark = s.drill === null ? 'unverified' : s.drill === 'passed' ? 'verified' : 'FAILED drill';
    io.out(
      `${indent}  ${s.createdAt}  revision ${s.seq}  generation ${s.generation}  ${s.records} records  ${mark}  ${s.object}`,
    );
  }
  for (const h of coverage.histories) {
    const journal = h.journalHead
      ? `journal head revision ${h.journalHead.seq} at ${h.journalHead.createdAt}`
      : 'no journal after its newest snapshot';
    io.out(
      `${indent}history:          generation ${h.generation}: revisions 1..${h.toSeq}, written ${h.firstAt} to ${h.lastAt}, ${h.snapshots} snapshots from revision ${h.oldestSnapshotSeq}, ${journal}${h.broken ? ` (journal unusable: ${h.broken})` : ''}`,
    );
  }
  if (coverage.restore) {
    io.out(`${indent}a restore would bring back: ${describeRestore(coverage.restore)}`);
    if (coverage.restore.alternatives.length > 0) {
      io.out(`${indent}histories diverged; to restore another one instead:`);
      for (const line of coverage.restore.alternatives) io.out(`${indent}  ${line}`);
    }
  } else {
    io.out(`${indent}a restore would bring back: NOTHING (${coverage.restoreError ?? 'no snapshot'})`);
  }
}

async function list({ config, io, options }: Invocation): Promise<number> {
  let code = 0;
  const out: { index: number; location: string; coverage: RepositoryCoverage | null; error: string | null }[] = [];
  for (const [index, location] of backupTargetLocations(config).entries()) {
    const target = openBackupTarget(location, config);
    try {
      const coverage = await readCoverage(await openRepository(target, backupSecret(config)));
      out.push({ index, location, coverage, error: null });
      if (options.json) continue;
      io.out(`target ${index + 1} (${location}), repository ${coverage.repository}:`);
      printCoverage(io, coverage, '  ');
    } catch (error) {
      const message = (error as Error).message;
      out.push({ index, location, coverage: null, error: message });
      io.err(`target ${index + 1} (${location}): ${message}`);
      code = 1;
    } finally {
      await target.close();
    }
  }
  if (options.json) io.out(JSON.stringify(out, null, 2));
  return code;
}

function numberOption(invocation: Invocation, name: string): number | undefined {
  const raw = invocation.options[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new AppError('invalid_request', `--${name} needs a whole number`);
  return value;
}

async function restore(invocation: Invocation): Promise<number> {
  const { config, io, options } = invocation;
  const toData = options['to-data'];
  if (typeof toData !== 'string' || toData === '') {
    throw new AppError('invalid_request', 'restore needs --to-data DIR: a new, empty data directory (never in place)');
  }
  const locations = backupTargetLocations(config);
  const wanted = options.target;
  if (typeof wanted !== 'string') throw new AppError('invalid_request', 'restore needs --target N (see backup status)');
  const index = /^\d+$/.test(wanted) ? Number(wanted) - 1 : locations.indexOf(wanted);
  const location = /^\d+$/.test(wanted) ? locations[index] : wanted;
  if (!location) throw new AppError('invalid_request', `no backup target ${wanted}`);
  const seq = numberOption(invocation, 'seq');
  const at = typeof options.at === 'string' ? new Date(options.at) : undefined;
  if (at && Number.isNaN(at.getTime()))
    throw new AppError('invalid_request', '--at needs a date and time, e.g. 2026-11-22T10:00:00Z');
  const target = openBackupTarget(location, config);
  try {
    const repo = await openRepository(target, backupSecret(config));
    const toDatabase = typeof options['to-database'] === 'string' ? options['to-database'] : undefined;
    const generation = typeof options.generation === 'string' ? options.generation : undefined;
    const result = await restoreToNewDeployment(
      repo,
      { dataDir: toData, ...(toDatabase ? { database: toDatabase } : {}) },
      { ...(seq !== undefined ? { seq } : {}), ...(at ? { at } : {}) },
      Date.now,
      generation !== undefined ? { generation } : {},
    );
    const history = result.history;
    if (history && history.others.length > 0) {
      const c = history.chosen;
      io.err(
        `warning: histories diverged on this target (a server was restored or rolled back and shipped again); restored generation ${c.generation} (revisions 1..${c.toSeq}, written ${c.firstAt} to ${c.lastAt}).`,
      );
      for (const o of history.others) {
        io.err(
          `  not restored: generation ${o.generation} (revisions 1..${o.toSeq}, written ${o.firstAt} to ${o.lastAt}); to restore it instead: --generation ${o.generation}`,
        );
      }
    }
    io.out(
      `restored revision ${result.seq} (snapshot ${result.snapshot.object} + ${result.journalRevisions} journal revisions) into ${result.database}`,
    );
    io.out(`new generation ${result.generation}; devices will re-seed when they next sync`);
    io.out(
      result.accounts
        ? `accounts restored from ${result.accounts.object}: ${result.accounts.users} users, with their passwords, devices and app passwords`
        : 'the snapshot carries no accounts: users without one are restored disabled as restored-<userId>',
    );
    const placeholders = new Set(result.placeholderUsers);
    for (const [userId, counts] of Object.entries(result.users)) {
      const account = placeholders.has(userId) ? ` (account restored-${userId}, disabled until a password is set)` : '';
      io.out(`  user ${userId}${account}: ${counts.items} items in ${counts.collections} collections`);
    }
    return 0;
  } finally {
    await target.close();
  }
}
