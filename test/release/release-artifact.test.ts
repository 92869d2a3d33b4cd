import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '@holdfast/test-support/processes';
import { afterAll, expect, it } from 'vitest';

/**
 * The release file, installed the way docs/deploy.md says, without a checkout:
 * `npm run pack:release`, then `npm install holdfast-<version>.tgz` in an
 * empty folder (third-party dependencies come from the registry, the
 * workspace packages from inside the tarball), then `npx holdfast serve`.
 */

let dir: string | undefined;

/** Without the npm_* variables of an enclosing `npm test`, which would point npm at the checkout. */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('installs from holdfast-<version>.tgz into an empty folder and serves /healthz', async () => {
  dir = await mkdtemp(join(tmpdir(), 'holdfast-release-test-'));
  const out = join(dir, 'out');
  const packed = await runProgram('npm', ['run', 'pack:release', '--', out]);
  expect(packed.code, packed.stdout + packed.stderr).toBe(0);
  const tarballs = readdirSync(out);
  expect(tarballs).toEqual([expect.stringMatching(/^holdfast-\d+\.\d+\.\d+\.tgz$/)]);

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name": "holdfast-install", "private": true}\n');
  const install = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(out, tarballs[0] ?? '')],
      { cwd: app, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  expect(install.code, install.output).toBe(0);
  // Nothing of the checkout is reachable from here: the workspace packages came out of the tarball.
  expect(readdirSync(join(app, 'node_modules', 'holdfast', 'node_modules', '@holdfast')).sort()).toEqual([
    'backup',
    'client',
    'node-io',
    'protocol',
    'server',
    'web',
  ]);

  // Its own process group, so that stopping it stops the server under npx too.
  const server = spawn('npx', ['holdfast', 'serve', '--data', join(dir, 'data'), '--port', '0'], {
    cwd: app,
    env: { ...cleanEnv(), HOLDFAST_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((done) => server.once('exit', () => done()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`holdfast serve did not start:\n${output}`)), 60_000);
      const onData = (data: Buffer) => {
        output += data;
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`holdfast serve exited with ${code}:\n${output}`));
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    // The portal came in the tarball too, and the installed server finds it beside itself.
    const portal = await fetch(`${url}/contacts`);
    expect(portal.status).toBe(200);
    expect(portal.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await portal.text();
    expect(page).toMatch(/<div id="root">/);
    // React's production build, whatever NODE_ENV the packing ran under (this test runs under vitest's `test`).
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(page)?.[1] ?? '';
    const code = await (await fetch(`${url}${script}`)).text();
    expect(code).toContain('Minified React error');
    expect(code).not.toContain('unique "key" prop');
  } finally {
    if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
}, 900_000);
