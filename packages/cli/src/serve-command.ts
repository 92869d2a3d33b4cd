import { createLogger, startServer } from '@holdfast/server/serve';
import type { Invocation } from './main.js';

export async function serveCommand({ config, options }: Invocation): Promise<number> {
  const log = createLogger(config);
  // --new-deployment: start empty on purpose even though the backup targets hold another deployment's data.
  const server = await startServer(config, log, { newDeployment: options['new-deployment'] === true });
  // A log line like any other (stdout stays JSON lines), shown even when the level hides other info lines.
  const announce = config.logLevel === 'silent' ? log : log.child({}, { level: 'info' });
  announce.info(
    { url: server.url, engine: server.ctx.db.engine, dataDir: config.dataDir, pid: process.pid },
    `Holdfast is listening on ${server.url} (${server.ctx.db.engine}, data in ${config.dataDir})`,
  );
  // Logs go to stdout, so there is no file to reopen: SIGHUP (logrotate, a closed terminal) must not stop the server.
  const onHangUp = () => log.info({ signal: 'SIGHUP' }, 'SIGHUP received; nothing to reopen, still serving');
  process.on('SIGHUP', onHangUp);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  process.off('SIGHUP', onHangUp);
  log.info('stopped');
  return 0;
}
