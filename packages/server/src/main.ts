import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { createLoginLimiter } from './auth/login-limiter.js';
import type { BackupService } from './backup/backup-service.js';
import { startServerBackups } from './backup/server-backups.js';
import { assertMigrationAllowed } from './backup/upgrade-gate.js';
import { openBlobStore } from './blobs/index.js';
import { type Config, databaseLocation } from './config.js';
import type { Context } from './context.js';
import { buildApp } from './http/app.js';
import { createMetrics } from './metrics.js';
import { secureDataDir } from './store/data-dir.js';
import { openDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import { readHead } from './store/revision-log.js';
import { createLocalNotifier, createPostgresNotifier } from './sync/change-notifier.js';
import { checkLineage, createHighWaterMark } from './sync/lineage.js';

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    // Belt and braces: credentials never reach the log even if a request object is logged whole.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'token', '*.token'],
  });
}

/**
 * The composition root: opens storage, brings the schema up to date and
 * builds the context every module receives. Nothing else creates resources.
 */
export async function createContext(config: Config, log: Logger = createLogger(config)): Promise<Context> {
  for (const finding of await secureDataDir(config.dataDir)) log.warn({ path: finding.path }, finding.message);
  const db = openDatabase(databaseLocation(config), (error) =>
    log.warn({ err: error.message }, 'an idle database connection failed; the pool replaces it'),
  );
  try {
    // Upgrade gate: pending migrations run only with a fresh verified backup (an empty database is exempt).
    await assertMigrationAllowed(config, db);
    const schema = await migrateToLatest(db);
    log.info({ database: db.describe, engine: db.engine, schemaVersion: schema.version }, 'database ready');
    const blobs = await openBlobStore(config.blobs, config.dataDir, {
      endpoint: config.s3Endpoint,
      region: config.s3Region,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
    });
    const notifier =
      db.engine === 'postgres'
        ? await createPostgresNotifier(databaseLocation(config), (error) =>
            log.warn({ err: error.message }, 'change notification connection failed'),
          )
        : createLocalNotifier();
    const lineage = await checkLineage(db, config.dataDir, log);
    const highWaterMark = await createHighWaterMark(config.dataDir, lineage.generation, await readHead(db.kysely));
    const loginLimiter = createLoginLimiter({
      refillPerSecond: config.loginRefillPerMinute / 60,
      maxLockoutSeconds: config.loginMaxLockoutSeconds,
    });
    const metrics = createMetrics();
    metrics.logHead.set(await readHead(db.kysely));
    return { config, log, db, blobs, notifier, loginLimiter, highWaterMark, metrics, now: Date.now };
  } catch (error) {
    await db.close();
    throw error;
  }
}

export async function closeContext(ctx: Context): Promise<void> {
  await ctx.highWaterMark.close();
  await ctx.notifier.close();
  await ctx.blobs.close();
  await ctx.db.close();
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: Context;
  /** Base URL, e.g. http://127.0.0.1:7870 */
  url: string;
  /** Continuous backups, or null when no backup target is configured. */
  backup: BackupService | null;
  close(): Promise<void>;
}

/** Starts the HTTP server on the configured host and port. */
export async function startServer(config: Config, log?: Logger): Promise<RunningServer> {
  const ctx = await createContext(config, log);
  const app = await buildApp(ctx);
  // Continuous backups run beside the server; a failing target never stops it serving.
  const backup = startServerBackups(ctx);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await backup?.stop();
    await app.close();
    await closeContext(ctx);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    app,
    ctx,
    url: `http://${host}:${port}`,
    backup,
    close: async () => {
      await app.close();
      await backup?.stop();
      await closeContext(ctx);
    },
  };
}
