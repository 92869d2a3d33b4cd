import { createLogger, startServer } from '@holdfast/server';
import type { Invocation } from './main.js';

export async function serveCommand({ config, io, options }: Invocation): Promise<number> {
  const log = createLogger(config);
  // --new-deployment: start empty on purpose even though the backup targets hold another deployment's data.
  const server = await startServer(config, log, { newDeployment: options['new-deployment'] === true });
  io.out(`Holdfast is listening on ${server.url} (${server.ctx.db.engine}, data in ${config.dataDir})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
