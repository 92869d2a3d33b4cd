import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Debian's nginx with TLS, configured from deploy/nginx.conf, in front of a
 * real `holdfast serve` process: what an operator following docs/deploy.md
 * gets. nginx runs from its own prefix in a temporary folder (as `nobody`
 * when the test runs as root).
 */

const siteTemplate = readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
const PASSWORD = 'correct horse battery staple';
const NOBODY = 65534;

let dir: string;
let server: ServerProcess;
let nginx: ReturnType<typeof spawn> | undefined;
let nginxLog = '';
let tlsPort: number;
let httpPort: number;
let ca: Buffer;
let token: string;
let appPassword: string;

function findNginx(): string {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (!spawnSync(candidate, ['-v']).error) return candidate;
  }
  throw new Error(
    'nginx is not installed: this test runs deploy/nginx.conf in front of Holdfast. Install it with `apt-get install nginx` (.ci/run does).',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Replaces `from` with `to` in the template, failing if deploy/nginx.conf no longer holds `from`. */
function substitute(text: string, from: string, to: string): string {
  expect(text, `deploy/nginx.conf should contain ${JSON.stringify(from)}`).toContain(from);
  return text.split(from).join(to);
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTPS request through nginx, from a chosen loopback source address, verifying the test certificate. */
function tls(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: tlsPort,
        method,
        path,
        ca,
        agent: false,
        localAddress: options.localAddress ?? '127.0.0.1',
        // An empty header value means "send no such header" (no token on login and the /metrics probe).
        headers: Object.fromEntries(
          Object.entries({ authorization: token ? `Bearer ${token}` : '', ...options.headers }).filter(([, v]) => v),
        ),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function login(username: string, password: string, localAddress: string, headers: Record<string, string> = {}) {
  return tls('POST', '/v1/auth/login', {
    localAddress,
    headers: { authorization: '', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password, deviceName: 'proxy-test' }),
  });
}

async function waitForNginx(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await tls('GET', '/healthz')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (nginx?.exitCode !== null || Date.now() > deadline) {
      const errors = readFileSync(join(dir, 'error.log'), 'utf8');
      throw new Error(`nginx did not answer /healthz through TLS:\n${nginxLog}\n${errors}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

beforeAll(async () => {
  const nginxBinary = findNginx();
  dir = await mkdtemp(join(tmpdir(), 'holdfast-nginx-'));
  const data = join(dir, 'data');
  for (const user of ['alice', 'bob']) {
    expect((await runCli(['user', 'add', user, '--data', data], { stdin: `${PASSWORD}\n` })).code).toBe(0);
  }
  const app = await runCli(['app-password', 'add', 'alice', '--label', 'contacts', '--data', data]);
  appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1] ?? '';
  expect(appPassword).not.toBe('');
  server = await startServerProcess(['--data', data], { HOLDFAST_TRUSTED_PROXIES: '127.0.0.1' });
  const upstreamPort = new URL(server.url).port;

  const openssl = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { encoding: 'utf8' },
  );
  expect(openssl.status, openssl.stderr).toBe(0);
  ca = readFileSync(join(dir, 'cert.pem'));

  tlsPort = await freePort();
  httpPort = await freePort();
  let site = siteTemplate;
  site = substitute(site, 'server 127.0.0.1:7870;', `server 127.0.0.1:${upstreamPort};`);
  site = substitute(site, '    listen [::]:80;\n', '');
  site = substitute(site, '    listen [::]:443 ssl http2;\n', '');
  site = substitute(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
  site = substitute(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`);
  site = substitute(site, '/etc/letsencrypt/live/holdfast.example.org/fullchain.pem', join(dir, 'cert.pem'));
  site = substitute(site, '/etc/letsencrypt/live/holdfast.example.org/privkey.pem', join(dir, 'key.pem'));
  writeFileSync(join(dir, 'holdfast.conf'), site);
  // What Debian's /etc/nginx/nginx.conf gives the site file, with every writable path in the prefix.
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'worker_processes 1;',
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}-temp;`),
      `  include ${dir}/holdfast.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (const name of ['', ...readdirSync(dir).filter((name) => name !== 'data')]) {
      chownSync(join(dir, name), NOBODY, NOBODY);
    }
  }
  nginx = spawn(
    nginxBinary,
    ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    },
  );
  nginx.stdout?.on('data', (chunk) => {
    nginxLog += chunk;
  });
  nginx.stderr?.on('data', (chunk) => {
    nginxLog += chunk;
  });
  token = '';
  await waitForNginx();
  const session = await login('alice', PASSWORD, '127.0.0.1');
  expect(session.status, session.body.toString()).toBe(200);
  token = JSON.parse(session.body.toString()).token;
}, 120_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((done) => nginx?.once('exit', done));
    nginx.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Holdfast behind nginx (deploy/nginx.conf)', () => {
  it('redirects plain HTTP to HTTPS and keeps /metrics private', async () => {
    const plain = await new Promise<{ status: number; location: string }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: httpPort, path: '/healthz', agent: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? '' });
      })
        .on('error', reject)
        .end();
    });
    expect(plain.status).toBe(301);
    expect(plain.location).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/healthz$/);
    expect((await tls('GET', '/metrics', { headers: { authorization: '' } })).status).toBe(403);
    expect((await tls('GET', '/healthz')).headers['strict-transport-security']).toMatch(/max-age=/);
  });

  it('discovers the DAV principal from /.well-known/carddav with https hrefs', async () => {
    const basic = `Basic ${Buffer.from(`alice:${appPassword}`).toString('base64')}`;
    for (const wellKnown of ['/.well-known/carddav', '/.well-known/caldav']) {
      const redirect = await tls('PROPFIND', wellKnown, { headers: { authorization: basic, depth: '0' } });
      expect(redirect.status).toBe(301);
      const target = new URL(redirect.headers.location ?? '', `https://127.0.0.1:${tlsPort}${wellKnown}`);
      expect(target.href).toBe(`https://127.0.0.1:${tlsPort}/dav/`);
    }
    const propfind = (path: string, prop: string) =>
      tls('PROPFIND', path, {
        headers: { authorization: basic, depth: '0', 'content-type': 'application/xml; charset=utf-8' },
        body: `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop>${prop}</d:prop></d:propfind>`,
      });
    const root = await propfind('/dav/', '<d:current-user-principal/>');
    expect(root.status, root.body.toString()).toBe(207);
    const rootXml = root.body.toString();
    const principal = /<d:current-user-principal>\s*<d:href>([^<]+)<\/d:href>/.exec(rootXml)?.[1];
    expect(principal, rootXml).toBe('/dav/principals/alice/');
    const principalUrl = new URL(principal ?? '', `https://127.0.0.1:${tlsPort}/dav/`);
    expect(principalUrl.protocol).toBe('https:');
    const home = await propfind(principalUrl.pathname, '<card:addressbook-home-set/>');
    expect(home.status, home.body.toString()).toBe(207);
    const homeXml = home.body.toString();
    const hrefs = [...homeXml.matchAll(/<d:href>([^<]+)<\/d:href>/g)].map((match) => match[1] ?? '');
    expect(hrefs.length).toBeGreaterThan(1);
    for (const href of hrefs) {
      // Paths resolve against the https URL the client used; an absolute http:// href would leave TLS.
      expect(href, homeXml).toMatch(/^\/dav\//);
      expect(new URL(href, principalUrl).origin).toBe(`https://127.0.0.1:${tlsPort}`);
    }
  });

  it('delivers a live event through the proxy promptly after a push', async () => {
    const created = await tls('POST', '/v1/collections', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'contacts', type: 'contacts', name: 'Contacts' }),
    });
    expect(created.status, created.body.toString()).toBe(201);

    const stream = await new Promise<{ events: string[]; waitFor(event: string): Promise<number>; close(): void }>(
      (resolve, reject) => {
        const events: string[] = [];
        const waiters: Array<() => void> = [];
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: tlsPort,
            path: '/v1/events',
            ca,
            agent: false,
            headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          },
          (res) => {
            expect(res.statusCode).toBe(200);
            expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              for (const match of buffer.matchAll(/^event: (\w+)$/gm)) events.push(match[1] ?? '');
              buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
              for (const waiter of waiters.splice(0)) waiter();
            });
            resolve({
              events,
              close: () => req.destroy(),
              waitFor: (event) =>
                new Promise((found, fail) => {
                  const started = performance.now();
                  const timer = setTimeout(() => fail(new Error(`no ${event} event; got ${events.join(',')}`)), 10_000);
                  const check = () => {
                    if (events.includes(event)) {
                      clearTimeout(timer);
                      found(performance.now() - started);
                    } else waiters.push(check);
                  };
                  check();
                }),
            });
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    try {
      await stream.waitFor('ready');
      const pushed = performance.now();
      const push = await tls('POST', '/v1/push', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          changes: [
            {
              clientChangeId: 'proxy-1',
              collectionId: 'contacts',
              itemId: 'ada',
              op: 'put',
              baseRevision: null,
              content: 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:ada\r\nFN:Ada Lovelace\r\nEND:VCARD\r\n',
            },
          ],
        }),
      });
      expect(push.status, push.body.toString()).toBe(200);
      await stream.waitFor('change');
      // Buffered by the proxy, the event would wait for the 15-second heartbeat or the end of the stream.
      expect(performance.now() - pushed).toBeLessThan(2_000);
    } finally {
      stream.close();
    }
  });

  it('takes a 50 MB photo upload and gives the same bytes back', async () => {
    const photo = randomBytes(50 * 1024 * 1024);
    const sha256 = createHash('sha256').update(photo).digest('hex');
    const put = await tls('PUT', `/v1/blobs/${sha256}`, {
      headers: { 'content-type': 'image/jpeg', 'content-length': String(photo.length) },
      body: photo,
    });
    expect(put.status, put.body.subarray(0, 500).toString()).toBe(201);
    expect(JSON.parse(put.body.toString())).toEqual({ sha256, size: photo.length });
    const get = await tls('GET', `/v1/blobs/${sha256}`);
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(photo.length);
    expect(createHash('sha256').update(get.body).digest('hex')).toBe(sha256);
  }, 120_000);

  it('throttles failed logins per client address behind the proxy', async () => {
    const clientA = '127.0.0.2';
    const clientB = '127.0.0.3';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      statuses.push((await login('bob', 'wrong password', clientA)).status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    // A is locked out even with the right password, and cannot pick another address: nginx overwrites the header.
    expect((await login('bob', PASSWORD, clientA)).status).toBe(429);
    expect((await login('bob', PASSWORD, clientA, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    // B, the owner elsewhere, is not.
    const owner = await login('bob', PASSWORD, clientB);
    expect(owner.status, owner.body.toString()).toBe(200);
  }, 60_000);
});
