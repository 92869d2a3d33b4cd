import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sqliteDriverPackage } from '@holdfast/node-io';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONAL_LIBRARIES as OPTIONAL } from './optional-libraries.js';

const probe = pathToFileURL(fileURLToPath(new URL('./module-log.mjs', import.meta.url))).href;
const smsBackup = fileURLToPath(new URL('../fixtures/moving-in/sms-backup.xml', import.meta.url));

/**
 * The server's own modules for features an idle server does not use: the operators' API, reports, point-in-time
 * restore, re-seeding, contact search, app passwords, the account safety page and the Inbox's import code. Their
 * routes are registered at start and load them with their first request.
 */
const DEFERRED = [
  'admin/admin-access',
  'admin/incidents',
  'admin/overview',
  'admin/reports',
  'admin/user-admin',
  'sync/point-in-time',
  'sync/reseed',
  'sync/contact-search',
  'sync/account-safety',
  'auth/app-passwords',
  'import/import-source',
  'import/import-report',
];

const loadedServerModules = async (log: string) => {
  const names = new Set<string>();
  for (const line of (await readFile(log, 'utf8')).split('\n')) {
    const match = /\/packages\/server\/(?:dist|src)\/(.+)\.[jt]s$/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
};

const loadedPackages = async (log: string) => {
  const names = new Set<string>();
  for (const line of (await readFile(log, 'utf8')).split('\n')) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (match?.[1]) names.add(match[1].startsWith('@aws-sdk/') ? '@aws-sdk' : match[1]);
    // Workspace packages load from their own folders, not through node_modules.
    const workspace = /\/packages\/([^/]+)\/(?:dist|src)\//.exec(line);
    if (workspace?.[1]) names.add(`@holdfast/${workspace[1]}`);
  }
  return names;
};

describe('holdfast serve at start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-lazy-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('loads no optional subsystem until a request uses one', async () => {
    const data = join(dir, 'data');
    const log = join(dir, 'modules.txt');
    expect(
      (await runCli(['user', 'add', 'alice', '--admin', '--data', data], { stdin: 'correct horse battery\n' })).code,
    ).toBe(0);
    const server = await startServerProcess(['--data', data], {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${probe}`,
      HOLDFAST_MODULE_LOG: log,
    });
    try {
      const atStart = await loadedPackages(log);
      // The log is real: what serving needs is in it.
      expect(atStart).toContain('fastify');
      // The driver line this Node loads (see node-io's sqlite-driver.ts).
      expect(atStart).toContain(sqliteDriverPackage);
      expect(atStart).toContain('@holdfast/server');
      expect(OPTIONAL.filter((name) => atStart.has(name))).toEqual([]);
      const serverAtStart = await loadedServerModules(log);
      expect(serverAtStart).toContain('http/app');
      expect(DEFERRED.filter((name) => serverAtStart.has(name))).toEqual([]);

      // A plain DAV request body is read without the XML parser, and answered (a listing of the home, which
      // makes the default address book); the first body that needs the general parser (a comment) loads it.
      const app = await runCli(['app-password', 'add', 'alice', '--label', 'dav', '--data', data]);
      const appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1] ?? '';
      const basic = `Basic ${Buffer.from(`alice:${appPassword}`).toString('base64')}`;
      const listHome = (body: string) =>
        fetch(`${server.url}/dav/addressbooks/alice/`, {
          method: 'PROPFIND',
          headers: { authorization: basic, 'content-type': 'application/xml; charset=utf-8', depth: '1' },
          body,
        });
      const plain = await listHome(
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>',
      );
      expect(plain.status).toBe(207);
      expect(await plain.text()).toContain('/dav/addressbooks/alice/contacts/');
      expect(await loadedPackages(log)).not.toContain('fast-xml-parser');
      const commented = await listHome(
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><!-- names --><d:prop><d:displayname/></d:prop></d:propfind>',
      );
      expect(commented.status).toBe(207);
      expect(await commented.text()).toContain('/dav/addressbooks/alice/contacts/');
      expect(await loadedPackages(log)).toContain('fast-xml-parser');

      // The first vCard stored loads ical.js to check it, and is stored.
      const card = ['BEGIN:VCARD', 'VERSION:4.0', 'UID:lazy-1', 'FN:Lazy Loaded', 'END:VCARD', ''].join('\r\n');
      const path = '/dav/addressbooks/alice/contacts/lazy-1.vcf';
      const put = await fetch(`${server.url}${path}`, {
        method: 'PUT',
        headers: { authorization: basic, 'content-type': 'text/vcard; charset=utf-8' },
        body: card,
      });
      expect(put.status).toBe(201);
      expect(await loadedPackages(log)).toContain('ical.js');
      const stored = await fetch(`${server.url}${path}`, { headers: { authorization: basic } });
      expect(await stored.text()).toContain('FN:Lazy Loaded');

      // An SMS backup import needs the XML parser: it is loaded then, and the server answers as before.
      const login = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'correct horse battery' },
      });
      expect(login.status).toBe(200);
      const imported = await fetch(`${server.url}/v1/import?name=sms-backup.xml`, {
        method: 'POST',
        headers: { authorization: `Bearer ${login.body.token}`, 'content-type': 'application/xml' },
        body: await readFile(smsBackup),
      });
      expect(imported.status).toBe(200);
      expect(((await imported.json()) as { format: string }).format).toBe('sms-backup');
      expect(await loadedPackages(log)).toContain('saxes');

      // Each deferred feature answers its first request, and has loaded its code for it.
      const token = login.body.token as string;
      const call = (method: string, path: string, body?: unknown) => api(server.url, method, path, { token, body });
      expect((await call('GET', '/v1/account/safety')).status).toBe(200);
      expect((await call('GET', '/v1/contacts/search?q=Lazy')).body.contacts).toHaveLength(1);
      expect((await call('GET', '/v1/app-passwords')).body.appPasswords).toHaveLength(1);
      expect((await call('GET', '/v1/summary')).body.collections.length).toBeGreaterThan(0);
      expect((await call('POST', '/v1/restore/preview', { revision: 1 })).status).toBe(200);
      expect((await call('POST', '/v1/reports', { text: 'Something looks wrong.' })).status).toBe(201);
      expect((await call('GET', '/v1/admin/overview')).status).toBe(200);
      expect((await call('GET', '/v1/admin/users')).body.users).toHaveLength(1);
      expect((await call('GET', '/v1/admin/incidents')).status).toBe(200);
      const inbox = await fetch(`${server.url}/dav/files/alice/Inbox/`, {
        method: 'PROPFIND',
        headers: { authorization: basic, depth: '1' },
      });
      expect(inbox.status).toBe(207);
      expect(await inbox.text()).toContain('sms-backup.xml');
      const serverNow = await loadedServerModules(log);
      expect(DEFERRED.filter((name) => !serverNow.has(name))).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('loads no backup code when it creates a new database', async () => {
    const data = join(dir, 'new');
    const log = join(dir, 'modules-new.txt');
    // No user yet: the server creates the database and migrates it; the upgrade gate exempts a new one.
    const server = await startServerProcess(['--data', data], {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${probe}`,
      HOLDFAST_MODULE_LOG: log,
    });
    try {
      const atStart = await loadedPackages(log);
      expect(atStart).toContain('@holdfast/server');
      expect(OPTIONAL.filter((name) => atStart.has(name))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
