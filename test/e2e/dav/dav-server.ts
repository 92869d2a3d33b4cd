import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';

export interface DavServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  username: string;
  appPassword: string;
  appPasswordId: string;
  /** A device token for the JSON API, to check what DAV clients did. */
  token: string;
  /** What the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `holdfast serve` as a child process on a fresh SQLite or PostgreSQL
 * database, with a user and an app password made by the CLI, exactly as an
 * operator would.
 */
export async function startDavServer(engine: 'sqlite' | 'postgres', username: string): Promise<DavServer> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-dav-e2e-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const args = ['--data', dataDir];
    if (engine === 'postgres') {
      const db = await createTestDatabase();
      cleanups.push(db.drop);
      args.push('--database', db.url);
    }
    const password = `${username}-account-password`;
    const added = await runCli(['user', 'add', username, ...args], { stdin: `${password}\n` });
    if (added.code !== 0) throw new Error(`user add failed: ${added.stderr}`);
    const app = await runCli(['app-password', 'add', username, '--label', 'dav client', ...args]);
    const appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1];
    const appPasswordId = /^id (\S+)$/m.exec(app.stdout)?.[1];
    if (app.code !== 0 || !appPassword || !appPasswordId) throw new Error(`app-password add failed: ${app.stderr}`);
    const server = await startServerProcess(args, { HOLDFAST_LOG_LEVEL: 'info' });
    cleanups.push(() => server.stop());
    const login = await api(server.url, 'POST', '/v1/auth/login', {
      body: { username, password, deviceName: 'checks' },
    });
    if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
    return {
      url: server.url,
      username,
      appPassword,
      appPasswordId,
      token: login.body.token as string,
      output: server.output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
