import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { api, builtCommand, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONAL_LIBRARIES } from './optional-libraries.js';

/**
 * The `holdfast` command as users run it: bin/holdfast.js and the bundle `npm run build` makes of the CLI
 * (packages/cli/build-bundle.mjs). Every other test runs the sources; this one runs the build through what
 * bundling changes: the portal found as a package, the libraries loaded from node_modules on first use (the XML
 * parser, ical.js, the export archive), the chunks loaded on first use (the backup package, export, restore), and
 * the commands beside `serve`.
 */
const bundle = fileURLToPath(new URL('../../packages/cli/dist/bundle/main.js', import.meta.url));
const probe = pathToFileURL(fileURLToPath(new URL('./module-log.mjs', import.meta.url))).href;
const PASSPHRASE = 'built-command-passphrase';
const PASSWORD = 'correct horse battery';

describe('the built holdfast command', () => {
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build (npm install runs it)`);
    dir = await mkdtemp(join(tmpdir(), 'holdfast-built-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('serves the portal, DAV and the API with a backup target, exports, and restores from the target', async () => {
    const data = join(dir, 'data');
    const env = {
      HOLDFAST_BACKUP_TARGETS: join(dir, 'target'),
      HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
      HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
    };
    const built = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
      runCli([...args, '--data', data], { ...options, env: { ...env, ...options.env }, from: 'build' });

    const help = await runCli(['--help'], { from: 'build' });
    expect(help.stdout).toContain('holdfast serve');
    const init = await built(['backup', 'init']);
    expect(init.code, init.stderr).toBe(0);
    expect((await built(['user', 'add', 'alice'], { stdin: `${PASSWORD}\n` })).code).toBe(0);
    const app = await built(['app-password', 'add', 'alice', '--label', 'phone']);
    const appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1] ?? '';
    expect(appPassword).not.toBe('');
    const basic = `Basic ${Buffer.from(`alice:${appPassword}`).toString('base64')}`;

    const modules = join(dir, 'modules.txt');
    const server = await startServerProcess(
      ['--data', data],
      { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${probe}`, HOLDFAST_MODULE_LOG: modules },
      undefined,
      'build',
    );
    const path = '/dav/addressbooks/alice/contacts/built-1.vcf';
    const card = ['BEGIN:VCARD', 'VERSION:4.0', 'UID:built-1', 'FN:Ada Built', 'TEL:+15550100', 'END:VCARD', ''].join(
      '\r\n',
    );
    try {
      // As from the sources (lazy-start.test.ts), the libraries left outside the bundle load with their first use.
      const atStart = await readFile(modules, 'utf8');
      // The backup package is inside the bundle, and loaded at start here: a target is configured.
      const outside = OPTIONAL_LIBRARIES.filter((name) => name !== '@holdfast/backup');
      expect(outside.filter((name) => atStart.includes(`node_modules/${name}/`))).toEqual([]);

      const portal = await fetch(`${server.url}/contacts`);
      expect(portal.status).toBe(200);
      expect(portal.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await portal.text()).toMatch(/<div id="root">/);

      // A comment makes the body one for the general XML parser, which loads from node_modules.
      const home = await fetch(`${server.url}/dav/addressbooks/alice/`, {
        method: 'PROPFIND',
        headers: { authorization: basic, 'content-type': 'application/xml; charset=utf-8', depth: '1' },
        body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><!-- names --><d:prop><d:displayname/></d:prop></d:propfind>',
      });
      expect(home.status).toBe(207);
      expect(await home.text()).toContain('/dav/addressbooks/alice/contacts/');

      // The vCard is checked with ical.js and acknowledged once the backup package's shipping has it on the target.
      const put = await fetch(`${server.url}${path}`, {
        method: 'PUT',
        headers: { authorization: basic, 'content-type': 'text/vcard; charset=utf-8' },
        body: card,
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('holdfast-durability')).toBe('target');
      const got = await fetch(`${server.url}${path}`, { headers: { authorization: basic } });
      expect(await got.text()).toBe(card);

      const login = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: PASSWORD, deviceName: 'laptop' },
      });
      expect(login.status).toBe(200);
      const changes = await api(server.url, 'GET', '/v1/changes?limit=100', { token: login.body.token });
      expect(changes.status).toBe(200);
      expect(JSON.stringify(changes.body.changes)).toContain('Ada Built');

      const metrics = await fetch(`${server.url}/metrics`);
      expect(await metrics.text()).toContain('holdfast_http_request_duration_seconds');

      // What ran was the bundle: none of the workspace packages' separate build files, and none of the libraries
      // the bundle holds from node_modules (those it leaves outside, such as the XML parser, do load from there).
      const loaded = (await readFile(modules, 'utf8')).split('\n');
      expect(loaded.some((line) => line.includes(builtCommand))).toBe(true);
      expect(loaded.some((line) => line.includes('/packages/cli/dist/bundle/'))).toBe(true);
      expect(loaded.filter((line) => /\/packages\/[^/]+\/(dist|src)\/(?!bundle\/)/.test(line))).toEqual([]);
      expect(loaded.filter((line) => /node_modules\/(fastify|kysely|zod|pino)\//.test(line))).toEqual([]);
      expect(loaded.some((line) => line.includes('node_modules/fast-xml-parser/'))).toBe(true);
    } finally {
      await server.stop();
    }

    const out = join(dir, 'alice.zip');
    const exported = await built(['export', '--user', 'alice', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/contacts\/Contacts.vcf: items 1, .*tel 1/);
    expect((await stat(out)).size).toBeGreaterThan(0);

    const restoredDir = join(dir, 'restored');
    const restored = await built(['backup', 'restore', '--target', '1', '--to-data', restoredDir]);
    expect(restored.code, restored.stderr).toBe(0);
    const revived = await startServerProcess(
      ['--data', restoredDir],
      { ...env, HOLDFAST_BACKUP_TARGETS: '' },
      undefined,
      'build',
    );
    try {
      const back = await fetch(`${revived.url}${path}`, { headers: { authorization: basic } });
      expect(back.status).toBe(200);
      expect(await back.text()).toBe(card);
    } finally {
      await revived.stop();
    }
  }, 120_000);
});
