import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BackupService } from './backup/backup-service.js';
import { startServerBackups } from './backup/server-backups.js';
import type { WitnessOptions } from './backup/start-witness.js';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { buildApp } from './http/app.js';
import { closeContext, createLogger, openContext } from './open-context.js';
import { secureDataDir } from './store/data-dir.js';

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
  for (const finding of await secureDataDir(config.dataDir)) log.warn({ path: finding.path }, finding.message);
  return openContext(config, { migrate: 'gated', log, witness });
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
export async function startServer(config: Config, log?: Logger, witness: WitnessOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config, log, witness);
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
