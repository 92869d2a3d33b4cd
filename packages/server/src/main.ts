import type { ServerResponse } from 'node:http';
import { AppError } from '@holdfast/protocol';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BackupService } from './backup/backup-service.js';
import type { WitnessOptions } from './backup/start-witness.js';
import { type Config, databaseLocation } from './config.js';
import type { Context } from './context.js';
import { buildApp } from './http/app.js';
import { mailEnabled } from './notify/mailer.js';
import type { Notifier } from './notify/notifier.js';
import { closeContext, createLogger, hasBackupTargets, openContext } from './open-context.js';
import { secureDataDir } from './store/data-dir.js';
import { isPostgresLocation } from './store/database.js';
import { acquireServerLock } from './store/server-lock.js';

export { closeContext, createLogger, type DatabaseContext, type OpenOptions, openContext } from './open-context.js';

/**
 * The composition root for the server: opens storage, brings the schema up
 * to date through the upgrade gate and builds the context every module
 * receives.
 */
export async function createContext(
  config: Config,
  log: Logger = createLogger(config),
  witness: WitnessOptions = {},
): Promise<Context> {
  await prepareDataDir(config, log);
  return openContext(config, { migrate: 'gated', log, witness });
}

/** Creates and secures the data directory; one that cannot be made is named in a one-line error. */
async function prepareDataDir(config: Config, log: Logger): Promise<void> {
  let findings: Awaited<ReturnType<typeof secureDataDir>>;
  try {
    findings = await secureDataDir(config.dataDir);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new AppError('unavailable', `cannot use the data directory ${config.dataDir}: ${code ?? message}`);
  }
  for (const finding of findings) log.warn({ path: finding.path }, finding.message);
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: Context;
  /** Base URL, e.g. http://127.0.0.1:7870 */
  url: string;
  /** Continuous backups, or null when no backup target is configured. */
  backup: BackupService | null;
  /** Mails people about entries touching their data, or null when mail is off (`smtpUrl`). */
  notifier: Notifier | null;
  close(): Promise<void>;
}

/** Starts the HTTP server on the configured host and port. */
export async function startServer(
  config: Config,
  log: Logger = createLogger(config),
  witness: WitnessOptions = {},
): Promise<RunningServer> {
  await prepareDataDir(config, log);
  // PostgreSQL deployments run several servers on purpose; an SQLite file takes one.
  const lock = isPostgresLocation(databaseLocation(config)) ? null : await acquireServerLock(config.dataDir);
  let ctx: Context;
  try {
    ctx = await openContext(config, { migrate: 'gated', log, witness });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  // Continuous backups run beside the server; a failing target never stops it serving.
  const backup = await startBackups(ctx);
  const notifier = await startServerNotifier(ctx);
  const app = await buildApp(ctx, { backupHealth: () => backup?.health() ?? [], backup: () => backup });
  drainOnClose(app, config.shutdownGraceMs, log);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await backup?.stop();
    await notifier?.stop();
    await app.close();
    await closeContext(ctx);
    await lock?.release();
    throw listenError(error as NodeJS.ErrnoException, config);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    app,
    ctx,
    url: `http://${host}:${port}`,
    backup,
    notifier,
    close: async () => {
      await app.close();
      await backup?.stop();
      await notifier?.stop();
      await closeContext(ctx);
      await lock?.release();
    },
  };
}

/** The backup service, loaded only on a server with targets to ship to. */
async function startBackups(ctx: Context): Promise<BackupService | null> {
  if (!hasBackupTargets(ctx.config)) {
    ctx.log.warn(
      'no backup targets are configured (backupTargets): this server holds the only server-side copy, and writes are acknowledged with durability local',
    );
    return null;
  }
  const { startServerBackups } = await import('./backup/server-backups.js');
  return startServerBackups(ctx);
}

async function startServerNotifier(ctx: Context): Promise<Notifier | null> {
  if (!mailEnabled(ctx.config)) {
    ctx.log.info('mail is off (smtpUrl): people see incidents in the portal but are not mailed');
    return null;
  }
  const { startNotifier } = await import('./notify/notifier.js');
  return startNotifier({ ...ctx, log: ctx.log.child({ component: 'notifier' }) });
}

function listenError(error: NodeJS.ErrnoException, config: Config): Error {
  const where = `port ${config.port} on ${config.host}`;
  if (error.code === 'EADDRINUSE') return new AppError('unavailable', `${where} is already in use (--port)`);
  if (error.code === 'EACCES') return new AppError('unavailable', `not allowed to listen on ${where} (--port)`);
  if (error.code === 'EADDRNOTAVAIL') return new AppError('unavailable', `no address ${config.host} here (--host)`);
  return error;
}

/**
 * On close, requests in flight get up to `graceMs` to finish before their
 * connections are cut; new ones meanwhile are answered 503. Live event
 * streams never finish on their own, so they are not waited for.
 */
function drainOnClose(app: FastifyInstance, graceMs: number, log: Logger): void {
  const inFlight = new Set<ServerResponse>();
  app.server.on('request', (request, response: ServerResponse) => {
    if ((request.url ?? '').split('?')[0] === '/v1/events') return;
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });
  app.addHook('preClose', async () => {
    if (inFlight.size === 0) return;
    log.info({ requests: inFlight.size, graceMs }, 'waiting for requests in flight to finish');
    const deadline = Date.now() + graceMs;
    while (inFlight.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (inFlight.size > 0) log.warn({ requests: inFlight.size }, 'closing connections of unfinished requests');
  });
}
