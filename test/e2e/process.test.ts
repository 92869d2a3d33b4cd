import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, verifyTargets } from '@holdfast/server';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe: Server = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** One line, no stack frames: what an operator reads at start-up. */
const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
};

describe('the server process', () => {
  const dirs: string[] = [];
  const scratch = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-proc-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('under `npm start` stops when npm gets SIGTERM, freeing the port and leaving no process behind', async () => {
    const dataDir = await scratch();
    // npm start runs the built CLI (packages/cli/dist), as in production.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: root,
      env: { ...process.env, HOLDFAST_DATA_DIR: dataDir, HOLDFAST_PORT: '0', HOLDFAST_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const npmExited = new Promise((resolve) => child.once('exit', resolve));
    expect(await waitFor(() => /listening (on|at) http:\/\/[^\s"]+/.test(output), 60_000)).toBe(true);
    const url = /listening (?:on|at) (http:\/\/[^\s"]+)/.exec(output)?.[1] as string;
    const port = Number(new URL(url).port);
    const serverPid = Number(/"pid":(\d+)/.exec(output)?.[1]);
    expect(serverPid).toBeGreaterThan(0);
    expect(serverPid).not.toBe(child.pid);
    expect((await api(url, 'GET', '/healthz')).status).toBe(200);

    child.kill('SIGTERM');
    await npmExited;
    try {
      expect(await waitFor(() => !alive(serverPid), 15_000)).toBe(true);
      expect(await waitFor(() => portFree(port), 5_000)).toBe(true);
      expect(output).toContain('shutting down');
    } finally {
      if (alive(serverPid)) process.kill(serverPid, 'SIGKILL');
    }
  }, 90_000);

  it('survives SIGHUP, and on SIGTERM lets a request in flight finish before it exits', async () => {
    const dataDir = await scratch();
    expect((await runCli(['user', 'add', 'gus', '--data', dataDir], { stdin: 'gus-password-1\n' })).code).toBe(0);
    const server = await startServerProcess(['--data', dataDir], { HOLDFAST_LOG_LEVEL: 'info' });
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    try {
      server.child.kill('SIGHUP');
      expect(await waitFor(() => server.output().includes('SIGHUP'), 10_000)).toBe(true);
      expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);

      const token = (
        await api(server.url, 'POST', '/v1/auth/login', { body: { username: 'gus', password: 'gus-password-1' } })
      ).body.token;
      const body = JSON.stringify({ type: 'contacts', name: 'slow' });
      // Headers and half the body now; the rest after SIGTERM.
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${server.url}/v1/collections`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 5));
        setTimeout(() => {
          server.child.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(5)), 1000);
        }, 500);
      });
      const answered = await response;
      expect(answered.status).toBe(201);
      expect(JSON.parse(answered.text).name).toBe('slow');
      expect(await exited).toBe(0);
      expect(server.output()).toContain('shutting down');
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 90_000);

  it('refuses a second server on one SQLite data directory, naming the directory and the other pid', async () => {
    const dataDir = await scratch();
    const first = await startServerProcess(['--data', dataDir]);
    try {
      const second = await runCli(['serve', '--data', dataDir, '--port', '0']);
      expect(second.code).not.toBe(0);
      oneLine(second.stderr);
      expect(second.stderr).toContain(dataDir);
      expect(second.stderr).toContain(`pid ${first.child.pid}`);
      expect((await api(first.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await first.stop();
    }
    // A server that died without cleaning up does not block the next one.
    const crashed = await startServerProcess(['--data', dataDir]);
    await crashed.kill();
    const next = await startServerProcess(['--data', dataDir]);
    await next.stop();
  }, 120_000);

  it('names the port in use, or the unusable data directory, in one line', async () => {
    const dataDir = await scratch();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const busy = await runCli(['serve', '--data', dataDir, '--port', String(port)]);
      expect(busy.code).not.toBe(0);
      oneLine(busy.stderr);
      expect(busy.stderr).toContain(`port ${port}`);
      expect(busy.stderr).toContain('already in use');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // A lock left behind by the failed start would block the next one.
    const next = await startServerProcess(['--data', dataDir]);
    await next.stop();

    const file = join(await scratch(), 'not-a-directory');
    await writeFile(file, '');
    const bad = await runCli(['serve', '--data', join(file, 'data'), '--port', '0']);
    expect(bad.code).not.toBe(0);
    oneLine(bad.stderr);
    expect(bad.stderr).toContain(`data directory ${join(file, 'data')}`);
  }, 90_000);

  it('verifies backups without a writable system temporary directory', async () => {
    const base = await scratch();
    const target = join(base, 'target');
    await mkdir(target);
    const env = {
      HOLDFAST_DATA_DIR: join(base, 'data'),
      HOLDFAST_BACKUP_TARGETS: target,
      HOLDFAST_BACKUP_PASSPHRASE: 'a long backup passphrase',
    };
    expect((await runCli(['backup', 'init'], { env })).code).toBe(0);
    expect((await runCli(['user', 'add', 'hal'], { env, stdin: 'hal-password-1\n' })).code).toBe(0);
    expect((await runCli(['backup', 'run'], { env })).code).toBe(0);
    // A system temporary directory nothing can be created in (a file stands where it should be).
    const blocked = join(base, 'blocked-tmp');
    await writeFile(blocked, '');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = blocked;
    try {
      const [result] = await verifyTargets(loadConfig({ env }), null);
      expect(result?.ok && result.value.verification.record.ok).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(existsSync(join(base, 'data', 'drill-scratch'))).toBe(true);
  }, 120_000);
});
