import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '@holdfast/protocol';
import { type Logger, pino } from 'pino';
import { createLoginLimiter } from './auth/login-limiter.js';
import type { WitnessOptions } from './backup/start-witness.js';
import { openBlobStore, s3SettingsFromConfig } from './blobs/index.js';
import { type Config, databaseLocation } from './config.js';
import type { Context } from './context.js';
import { createMetrics } from './metrics.js';
import { type Db, isPostgresLocation, openDatabase } from './store/database.js';
import { readGeneration } from './store/meta.js';
import { CODE_SCHEMA_VERSION, migrateToLatest, readSchemaState } from './store/migrate.js';
import { readHead } from './store/revision-log.js';
import { createLocalNotifier, createPostgresNotifier } from './sync/change-notifier.js';
import { checkLineage, createHighWaterMark } from './sync/lineage.js';
import { createCommitQueue } from './sync/write-transaction.js';

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    // Belt and braces: credentials never reach the log even if a request object is logged whole.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'token', '*.token'],
  });
}

export interface OpenOptions {
  /**
   * 'gated': create the database if there is none and bring its schema up to
   * date, through the upgrade gate (the server and commands that write).
   * 'never': open an existing database as it is; a missing one is an error,
   * never created (commands that only read, backups, doctor, upgrade).
   */
  migrate: 'gated' | 'never';
  /**
   * With 'never': accept a schema behind this code (doctor, backups and
   * upgrade look at such a database; everything else would misread it).
   */
  anySchema?: boolean;
  /**
   * Compare the database with the backup targets' journals before serving
   * (backup/start-witness.ts): the server sets this, commands do not.
   */
  witness?: WitnessOptions;
  log?: Logger;
}

/** The database alone: enough for commands that touch no blobs and need no change notifications. */
export interface DatabaseContext {
  config: Config;
  log: Logger;
  db: Db;
  now: () => number;
}

/**
 * The one way to open a deployment's database: the server, every command and
 * the backup tools come through here, so which paths may create or migrate a
 * database is decided in one place. With `databaseOnly` it stops at the
 * database; otherwise it builds the whole context (blob store, notifier,
 * lineage check, metrics).
 */
export async function openContext(
  config: Config,
  options: OpenOptions & { databaseOnly: true },
): Promise<DatabaseContext>;
export async function openContext(config: Config, options: OpenOptions & { databaseOnly?: false }): Promise<Context>;
export async function openContext(
  config: Config,
  options: OpenOptions & { databaseOnly?: boolean },
): Promise<Context | DatabaseContext> {
  const log = options.log ?? createLogger(config);
  const db = await openStore(config, options, log);
  if (options.databaseOnly) return { config, log, db, now: Date.now };
  try {
    const blobs = await openBlobStore(config.blobs, config.dataDir, s3SettingsFromConfig(config));
    try {
      // The witness first: a database the target is merely ahead of is rolled forward, and then the lineage
      // file's high-water mark (which a copy of only the database file leaves ahead) is met again.
      if (options.witness && hasBackupTargets(config)) {
        const { witnessBackupTargets } = await import('./backup/start-witness.js');
        await witnessBackupTargets({ config, db, log, now: Date.now, blobs }, options.witness);
      }
      await checkLineage(db, config.dataDir, log);
    } catch (error) {
      await blobs.close();
      throw error;
    }
    const notifier =
      db.engine === 'postgres'
        ? await createPostgresNotifier(databaseLocation(config), (error) =>
            log.warn({ err: error.message }, 'change notification connection failed'),
          )
        : createLocalNotifier();
    const highWaterMark = await createHighWaterMark(
      config.dataDir,
      await readGeneration(db),
      await readHead(db.kysely),
    );
    const loginLimiter = createLoginLimiter({
      refillPerSecond: config.loginRefillPerMinute / 60,
      maxLockoutSeconds: config.loginMaxLockoutSeconds,
    });
    const metrics = createMetrics();
    metrics.logHead.set(await readHead(db.kysely));
    return {
      config,
      log,
      db,
      blobs,
      notifier,
      loginLimiter,
      highWaterMark,
      metrics,
      commits: createCommitQueue(),
      now: Date.now,
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * Whether any backup target is configured (`backupTargets`). Checked before loading the backup code, which a
 * server without targets never needs.
 */
export function hasBackupTargets(config: Pick<Config, 'backupTargets'>): boolean {
  return config.backupTargets.split(',').some((entry) => entry.trim() !== '');
}

/** Closes what `openContext` opened. */
export async function closeContext(ctx: Context | DatabaseContext): Promise<void> {
  if ('highWaterMark' in ctx) {
    await ctx.highWaterMark.close();
    await ctx.notifier.close();
    await ctx.blobs.close();
  }
  await ctx.db.close();
}

async function openStore(config: Config, options: OpenOptions, log: Logger): Promise<Db> {
  const location = databaseLocation(config);
  const create = options.migrate === 'gated';
  if (!create && !isPostgresLocation(location) && location !== ':memory:') {
    // Opening a missing SQLite file would create an empty database; a command that only looks must not.
    if (!existsSync(location)) {
      const directory = dirname(location);
      const why = existsSync(directory) ? '' : `: ${directory} does not exist`;
      throw new AppError('not_found', `no database at ${location}${why} (holdfast serve creates one)`);
    }
  }
  let db: Db;
  try {
    db = openDatabase(location, {
      create,
      sqliteCacheMib: config.sqliteCacheMib,
      onConnectionError: (error) =>
        log.warn({ err: error.message }, 'a database connection failed; the pool replaces it'),
    });
  } catch (error) {
    throw new AppError('unavailable', `cannot open ${location}: ${(error as Error).message}`);
  }
  try {
    let schema = await readSchemaState(db).catch((error: Error) => {
      throw new AppError('unavailable', `cannot connect to ${db.describe}: ${error.message}`);
    });
    if (options.migrate === 'gated') {
      // Upgrade gate: pending migrations run only with a fresh verified backup (an empty database is exempt).
      // Its backup code loads only when there is a migration to let through, and not for a new database (the
      // gate exempts one that has nothing applied yet).
      if (schema.pending.length > 0 && schema.applied.length > 0) {
        const { assertMigrationAllowed } = await import('./backup/upgrade-gate.js');
        await assertMigrationAllowed(config, db);
      }
      schema = await migrateToLatest(db);
      log.info({ database: db.describe, engine: db.engine, schemaVersion: schema.version }, 'database ready');
    } else if (!options.anySchema) {
      refuseStaleSchema(db, schema);
    }
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** A command that does not migrate cannot read a schema this code does not match. */
function refuseStaleSchema(db: Db, schema: Awaited<ReturnType<typeof readSchemaState>>): void {
  if (schema.unknown.length > 0) {
    throw new AppError(
      'unavailable',
      `The database schema is newer than this Holdfast (it has run ${schema.unknown.join(', ')}); run a newer Holdfast.`,
      { unknown: schema.unknown },
    );
  }
  if (schema.applied.length === 0) {
    throw new AppError('not_found', `${db.describe} holds no Holdfast database yet (holdfast serve creates one)`);
  }
  if (schema.pending.length > 0) {
    throw new AppError(
      'precondition_failed',
      `The database is at schema version ${schema.version} and this Holdfast needs ${CODE_SCHEMA_VERSION} (pending: ${schema.pending.join(', ')}). This command does not migrate, and the upgrade gate lets migrations run only after a fresh verified backup: run \`holdfast upgrade\`, which backs up, verifies and then migrates (or \`holdfast backup run\` and \`holdfast backup verify\` first).`,
      { pending: schema.pending },
    );
  }
}
