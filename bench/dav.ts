/**
 * bench/dav: a phone-style CardDAV benchmark of Holdfast next to Radicale and
 * Xandikos (both from Debian), each on 127.0.0.1 with temporary storage.
 * For N = 1,000 and 10,000 realistic vCards, on a fresh server each time:
 *
 * - warm-up: up to HOLDFAST_BENCH_WARMUP_PUTS cards (default 3,000) into an
 *   address book of their own, 8 in flight, for at most
 *   HOLDFAST_BENCH_WARMUP_SECONDS (default 15), the same for every server; the
 *   server's CPU time per PUT over it is printed as "cold" (a fresh process:
 *   Holdfast's code is still being compiled, about twice the steady cost);
 * - PUT N cards one at a time, then N more (into a second address book) with
 *   8 requests in flight (cards/s), and the server's CPU time per PUT over both
 *   (user + system, from /proc: steadier than rates on a shared machine);
 * - full sync: PROPFIND Depth 1 on the address book, then
 *   addressbook-multiget in batches of 100 (seconds);
 * - sync-collection: initial, no-op (median of 5) and after 10 edits (median of
 *   5 rounds of 10 edits), wall time on loopback in ms; for Holdfast also the
 *   server's own time, from the holdfast_http_request_duration_seconds sums on
 *   /metrics;
 * - GET fidelity: the fraction of cards whose GET body equals the PUT body byte
 *   for byte;
 * - server RSS (VmRSS) once started (before any request) and at the end.
 *
 * Targets for Holdfast (2 cores): PUT c=8 >= 1,500 cards/s durable, <= 0.7 ms CPU per PUT, full sync of
 * 1,000 cards <= 100 ms and of 10,000 < 1 s, incremental sync after 10 edits < 5 ms server time, RSS <= 60 MiB
 * at start and <= 100 MiB after 10,000 cards. Beside the RSS it prints the floor under it: bench/memory-floor.mjs,
 * a process with only the libraries every request needs, measured the same way, as installed and bundled.
 *
 * Run: `npm run build && node --import tsx bench/dav.ts`.
 * Holdfast runs three ways: `holdfast` without a backup target (acknowledged once durable on the server),
 * `holdfast-target-dir` and `holdfast-target-s3` with a directory or an s3rver target in `backupAck=target`
 * mode (acknowledged once on the target: RPO 0). Target with a directory target: PUT c=8 >= 1,000 cards/s.
 *
 * HOLDFAST_BENCH_QUICK=1 runs N = 1,000 only. HOLDFAST_BENCH_DAV_SERVERS=holdfast,radicale,xandikos
 * picks servers. A PUT phase stops after HOLDFAST_BENCH_PHASE_SECONDS (default 120); its rate is then
 * marked `*` and later phases work on the cards that were stored.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AckTarget, ackLabel, prepareAckTarget } from './ack-targets.js';
import { bin, cpuSeconds, rssMb, serverNodeArgs } from './support.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const python = '/usr/bin/python3';

const quick = process.env.HOLDFAST_BENCH_QUICK === '1';
const sizes = quick ? [1000] : [1000, 10_000];
const phaseBudgetMs = Number(process.env.HOLDFAST_BENCH_PHASE_SECONDS ?? 120) * 1000;
const warmupPuts = Number(process.env.HOLDFAST_BENCH_WARMUP_PUTS ?? 3000);
const warmupBudgetMs = Number(process.env.HOLDFAST_BENCH_WARMUP_SECONDS ?? 15) * 1000;
const requestTimeoutMs = 60_000;
// The whole run is bounded: past this, servers are stopped and the script fails.
const runBudgetMs = (quick ? 10 : 45) * 60_000;
const serverNames = (
  process.env.HOLDFAST_BENCH_DAV_SERVERS ?? 'holdfast,holdfast-target-dir,holdfast-target-s3,radicale,xandikos'
).split(',');

// ---------------------------------------------------------------- vCards

const firsts = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Zoë', 'Radia', 'Jürgen', 'Søren', '李'];
const lasts = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Müller', 'Perlman', 'Kierkegaard', 'Nguyễn'];

/** A phone-like vCard 3.0 (CRLF, UTF-8, some folded lines and escapes), ~600 bytes. */
function vcard(uid: string, i: number, edit = 0): string {
  const first = firsts[i % firsts.length] as string;
  const last = lasts[(i >> 2) % lasts.length] as string;
  const n = String(i).padStart(7, '0');
  const note =
    `Met at conference ${i % 50}\\, follow up about the project. Prefers email\\; ` +
    `call only in the afternoon.${edit ? ` Edited ${edit}.` : ''}`;
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    'PRODID:-//Bench Phone//Contacts 14.2//EN',
    `UID:${uid}`,
    `FN:${first} ${last} ${n}`,
    `N:${last};${first};;;`,
    'ORG:Example Corp;Research',
    'TITLE:Engineer',
    `TEL;TYPE=CELL:+1 555 ${n.slice(0, 3)} ${n.slice(3)}`,
    `TEL;TYPE=WORK,VOICE:+44 20 7946 ${n.slice(3)}`,
    `EMAIL;TYPE=INTERNET,HOME:contact.${n}@example.com`,
    `ADR;TYPE=HOME:;;${i} Main Street;Springfield;IL;62701;USA`,
    `BDAY:19${String(50 + (i % 50))}-0${1 + (i % 9)}-1${i % 10}`,
    `URL:https://example.com/people/${n}`,
    'CATEGORIES:Work,Conference',
    `REV:2026-01-0${1 + (i % 9)}T10:00:${String(edit % 60).padStart(2, '0')}Z`,
    // A line longer than 75 octets, folded as RFC 6350 clients do.
    `NOTE:${note.slice(0, 70)}\r\n ${note.slice(70)}`,
    'END:VCARD',
    '',
  ].join('\r\n');
}

// ---------------------------------------------------------------- HTTP

interface Target {
  name: string;
  pid: number;
  /** The account's address-book home, ending in '/'. */
  home: string;
  headers: Record<string, string>;
  /** Server RSS (MB) once it answers, before the benchmark's first request. */
  rssStartMb: number;
  /** Holdfast only: the summed server time (s) and count of REPORT requests so far. */
  reportTime?: () => Promise<{ sum: number; count: number }>;
  stop(): Promise<void>;
}

async function request(
  t: Target,
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...t.headers,
      ...(body?.startsWith('<') ? { 'content-type': 'application/xml; charset=utf-8' } : {}),
      ...(body?.startsWith('BEGIN:') ? { 'content-type': 'text/vcard; charset=utf-8' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}

async function expectStatus(
  t: Target,
  method: string,
  url: string,
  ok: number[],
  body?: string,
  headers?: Record<string, string>,
) {
  const response = await request(t, method, url, body, headers);
  if (!ok.includes(response.status)) {
    throw new Error(`${t.name}: ${method} ${url}: ${response.status} ${response.body.toString('utf8').slice(0, 300)}`);
  }
  return response;
}

/** The <response> elements of a multistatus, whatever the namespace prefix. */
function responses(xml: string): { href: string; status: string; text: string }[] {
  const out = [];
  for (const m of xml.matchAll(/<(?:[\w-]+:)?response(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?response>/g)) {
    const text = m[1] as string;
    const href = /<(?:[\w-]+:)?href(?:\s[^>]*)?>([^<]*)<\//.exec(text)?.[1] ?? '';
    const status = /HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? '';
    out.push({ href: href.trim(), status, text });
  }
  return out;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

async function pool<T>(items: T[], concurrency: number, deadline: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length && performance.now() < deadline) {
        const item = items[next++] as T;
        await work(item);
        done++;
      }
    }),
  );
  return done;
}

// ---------------------------------------------------------------- servers

const children = new Set<ChildProcess>();

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function output(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d) => {
    out = (out + d).slice(-4000);
  });
  child.stderr?.on('data', (d) => {
    out = (out + d).slice(-4000);
  });
  return () => out;
}

/** The URL a Node server started as `child` prints ("listening on http://…") once it listens; rejects after 30 s. */
function untilListening(child: ChildProcess, log: () => string, name: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s: ${log()}`)), 30_000);
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(log());
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${log()}`)));
  });
}

/** RSS (MiB) of bench/memory-floor.mjs once it listens, with the server's Node flags: as installed, and bundled. */
async function memoryFloor(): Promise<{ installed: number; bundled: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-floor-'));
  const { build } = await import('esbuild');
  const require = createRequire(import.meta.url);
  try {
    const bundle = join(dir, 'floor.mjs');
    await build({
      entryPoints: [join(root, 'bench/memory-floor.mjs')],
      outfile: bundle,
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      // Fastify's dependencies are CommonJS: in an ES module bundle their require() of node built-ins needs one.
      banner: {
        js: "import { createRequire as floorRequire } from 'node:module'; const require = floorRequire(import.meta.url);",
      },
    });
    const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
    const rss = async (file: string, env: Record<string, string>) => {
      const child = start(process.execPath, [...serverNodeArgs, file], {
        HOLDFAST_FLOOR_DB: join(dir, 'floor.db'),
        ...env,
      });
      const log = output(child);
      try {
        await untilListening(child, log, 'the floor');
        return await rssMb(child.pid as number);
      } finally {
        await stopChild(child);
      }
    };
    return {
      installed: await rss(join(root, 'bench/memory-floor.mjs'), {}),
      bundled: await rss(bundle, { HOLDFAST_FLOOR_SQLITE_ADDON: addon }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runCli(args: string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, HOLDFAST_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`holdfast ${args[0]} failed: ${out}`));
    });
    child.stdin.end(stdin);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls until the server answers (any status), for at most 30 s. */
async function waitUntilUp(url: string, child: ChildProcess, log: () => string) {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${log()}`);
    try {
      await fetch(url, { method: 'OPTIONS', signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`server at ${url} did not start in 30 s: ${log()}`);
}

async function startHoldfast(ack: AckTarget): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-bench-dav-'));
  const backup = await prepareAckTarget(ack);
  try {
    await runCli(['user', 'add', 'bench', '--data', dataDir], 'bench-account-password\n');
    const added = await runCli(['app-password', 'add', 'bench', '--label', 'bench phone', '--data', dataDir]);
    const password = /shown once: (\S+)/.exec(added)?.[1];
    if (!password) throw new Error(`no app password in: ${added}`);
    const child = start(
      process.execPath,
      [...serverNodeArgs, bin, 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1'],
      {
        ...backup.env,
        HOLDFAST_LOG_LEVEL: 'warn',
      },
    );
    const log = output(child);
    const url = await untilListening(child, log, 'holdfast');
    const reportTime = async () => {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      let sum = 0;
      let count = 0;
      for (const line of text.split('\n')) {
        const m = /^holdfast_http_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
        const labels = m?.[2] ?? '';
        if (!m || !labels.includes('method="REPORT"') || !labels.includes('route="/dav/*"')) continue;
        if (m[1] === 'sum') sum += Number(m[3]);
        else count += Number(m[3]);
      }
      return { sum, count };
    };
    return {
      name: ack === 'none' ? 'holdfast' : `holdfast-${ackLabel(ack).replace(':', '-')}`,
      pid: child.pid as number,
      rssStartMb: await rssMb(child.pid as number),
      home: `${url}/dav/addressbooks/bench/`,
      headers: { authorization: `Basic ${Buffer.from(`bench:${password}`).toString('base64')}` },
      reportTime,
      stop: async () => {
        await stopChild(child);
        await rm(dataDir, { recursive: true, force: true });
        await backup.stop();
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    await backup.stop();
    throw error;
  }
}

async function startRadicale(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-radicale-'));
  const port = await freePort();
  // Its own config file, so Debian's /etc/radicale/config (TLS, remote_user auth) does not apply.
  // Authentication "none" takes the Basic username as the user; storage keeps its default fsync.
  const config = join(dir, 'config');
  await writeFile(
    config,
    `[server]\nhosts = 127.0.0.1:${port}\n[auth]\ntype = none\n[rights]\ntype = owner_only\n` +
      `[storage]\nfilesystem_folder = ${join(dir, 'collections')}\n[logging]\nlevel = warning\n`,
  );
  const child = start(python, ['-m', 'radicale', '--config', config]);
  const log = output(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(`${url}/`, child, log);
  } catch (error) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name: 'radicale',
    pid: child.pid as number,
    rssStartMb: await rssMb(child.pid as number),
    home: `${url}/bench/`,
    headers: { authorization: `Basic ${Buffer.from('bench:bench').toString('base64')}` },
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startXandikos(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-xandikos-'));
  const port = await freePort();
  // Xandikos has no authentication of its own; --defaults makes /user/ and its homes.
  const child = start('/usr/bin/xandikos', ['-d', dir, '--defaults', '-l', '127.0.0.1', '-p', String(port)]);
  const log = output(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(`${url}/`, child, log);
  } catch (error) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name: 'xandikos',
    pid: child.pid as number,
    rssStartMb: await rssMb(child.pid as number),
    home: `${url}/user/contacts/`,
    headers: {},
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const servers: Record<string, { installed: () => boolean; install: string; start: () => Promise<Target> }> = {
  holdfast: {
    installed: () => existsSync(join(root, 'packages/cli/dist/bundle/main.js')),
    install: 'npm run build',
    start: () => startHoldfast('none'),
  },
  'holdfast-target-dir': {
    installed: () => existsSync(join(root, 'packages/cli/dist/bundle/main.js')),
    install: 'npm run build',
    start: () => startHoldfast('directory'),
  },
  'holdfast-target-s3': {
    installed: () => existsSync(join(root, 'packages/cli/dist/bundle/main.js')),
    install: 'npm run build',
    start: () => startHoldfast('s3'),
  },
  radicale: {
    installed: () => existsSync('/usr/lib/python3/dist-packages/radicale') || existsSync('/usr/bin/radicale'),
    install: 'apt-get install radicale',
    start: startRadicale,
  },
  xandikos: {
    installed: () => existsSync('/usr/bin/xandikos'),
    install: 'apt-get install xandikos',
    start: startXandikos,
  },
};

// ---------------------------------------------------------------- the benchmark

const MKCOL = `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Bench</D:displayname>
</D:prop></D:set></D:mkcol>`;
const PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>`;
const multiget = (paths: string[]) => `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop>
${paths.map((p) => `<D:href>${xmlEscape(p)}</D:href>`).join('\n')}
</C:addressbook-multiget>`;
const syncCollection = (token: string) => `<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>${xmlEscape(token)}</D:sync-token>
<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

interface Timing {
  wallMs: number;
  serverMs: number | undefined;
}

interface Row {
  server: string;
  n: number;
  put1: number;
  put1Partial: boolean;
  put8: number;
  put8Partial: boolean;
  cpuPerPutMs: number;
  /** The same, over the phase with one PUT at a time and over the phase with 8 in flight. */
  cpuPerPut1Ms: number;
  cpuPerPut8Ms: number;
  /** CPU per PUT over the warm-up, on a fresh process. */
  coldCpuPerPutMs: number;
  warmupPuts: number;
  stored: number;
  fullSyncS: number;
  fullSyncCards: number;
  syncInitial: Timing;
  syncNoop: Timing;
  syncEdits: Timing;
  fidelity: number;
  rssStartMb: number;
  rssMb: number;
}

/** PUTs cards until done or the phase budget runs out; returns cards/s and the names stored. */
async function putCards(t: Target, book: string, cards: { name: string; body: string }[], concurrency: number) {
  const stored: { name: string; body: string }[] = [];
  const start = performance.now();
  const done = await pool(cards, concurrency, start + phaseBudgetMs, async (card) => {
    await expectStatus(t, 'PUT', `${book}${card.name}`, [201, 204], card.body, { 'if-none-match': '*' });
    stored.push(card);
  });
  const seconds = (performance.now() - start) / 1000;
  return { rate: done / seconds, partial: done < cards.length, stored };
}

async function timed<T>(t: Target, work: () => Promise<T>): Promise<{ result: T } & Timing> {
  const before = t.reportTime ? await t.reportTime() : undefined;
  const start = performance.now();
  const result = await work();
  const wallMs = performance.now() - start;
  let serverMs: number | undefined;
  if (before && t.reportTime) {
    const after = await t.reportTime();
    if (after.count > before.count) serverMs = ((after.sum - before.sum) * 1000) / (after.count - before.count);
  }
  return { result, wallMs, serverMs };
}

function median(timings: Timing[]): Timing {
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const servers = timings.map((x) => x.serverMs).filter((x): x is number => x !== undefined);
  return {
    wallMs: mid(timings.map((x) => x.wallMs)),
    serverMs: servers.length === timings.length ? mid(servers) : undefined,
  };
}

async function sync(t: Target, book: string, token: string) {
  const response = await expectStatus(t, 'REPORT', book, [207], syncCollection(token), { depth: '1' });
  const xml = response.body.toString('utf8');
  // The multistatus's own sync-token, outside the responses (before them or after, by server).
  const outside = xml.replace(/<(?:[\w-]+:)?response(?:\s[^>]*)?>[\s\S]*?<\/(?:[\w-]+:)?response>/g, '');
  const next = /<(?:[\w-]+:)?sync-token>([^<]*)</.exec(outside)?.[1];
  if (!next) throw new Error(`${t.name}: no sync-token in ${xml.slice(-300)}`);
  return { token: next.trim(), changes: responses(xml).filter((r) => !r.href.endsWith('/')).length };
}

async function benchOne(t: Target, n: number): Promise<Row> {
  const seqBook = `${t.home}bench-seq/`;
  const parBook = `${t.home}bench-par/`;
  await expectStatus(t, 'MKCOL', seqBook, [201], MKCOL);
  await expectStatus(t, 'MKCOL', parBook, [201], MKCOL);
  const make = (from: number, count = n) =>
    Array.from({ length: count }, (_, k) => {
      const uid = randomUUID();
      return { name: `${uid}.vcf`, body: vcard(uid, from + k) };
    });

  // Warm-up (connections, credential cache, compiled code), counted apart: a server that has run for a while
  // is past it, and its cost is printed as the cold figure rather than mixed into the steady one.
  const warmBook = `${t.home}bench-warm/`;
  await expectStatus(t, 'MKCOL', warmBook, [201], MKCOL);
  const warm = make(10_000_000, warmupPuts);
  const coldBefore = await cpuSeconds(t.pid);
  const warmed = await pool(warm, 8, performance.now() + warmupBudgetMs, async (card) => {
    await expectStatus(t, 'PUT', `${warmBook}${card.name}`, [201, 204], card.body);
  });
  const coldCpuPerPutMs = warmed ? (((await cpuSeconds(t.pid)) - coldBefore) * 1000) / warmed : Number.NaN;

  const cpuBefore = await cpuSeconds(t.pid);
  const seq = await putCards(t, seqBook, make(0), 1);
  const cpuBetween = await cpuSeconds(t.pid);
  const par = await putCards(t, parBook, make(n), 8);
  const cpuAfter = await cpuSeconds(t.pid);
  const cpuPerPutMs = ((cpuAfter - cpuBefore) * 1000) / (seq.stored.length + par.stored.length);
  const cpuPerPut1Ms = ((cpuBetween - cpuBefore) * 1000) / seq.stored.length;
  const cpuPerPut8Ms = ((cpuAfter - cpuBetween) * 1000) / par.stored.length;
  const bodies = new Map(seq.stored.map((c) => [c.name, c.body]));

  // Full sync, as a phone does on first contact: list, then multiget in batches of 100.
  let start = performance.now();
  const listing = await expectStatus(t, 'PROPFIND', seqBook, [207], PROPFIND, { depth: '1' });
  const bookPath = new URL(seqBook).pathname;
  const paths = responses(listing.body.toString('utf8'))
    .map((r) => new URL(r.href, seqBook).pathname)
    .filter((p) => p !== bookPath && !p.endsWith('/'));
  let fullSyncCards = 0;
  for (let i = 0; i < paths.length; i += 100) {
    const got = await expectStatus(t, 'REPORT', seqBook, [207], multiget(paths.slice(i, i + 100)), { depth: '1' });
    fullSyncCards += responses(got.body.toString('utf8')).filter((r) => /address-data/.test(r.text)).length;
  }
  const fullSyncS = (performance.now() - start) / 1000;
  if (fullSyncCards !== bodies.size) {
    console.warn(`  ${t.name}: full sync returned ${fullSyncCards} cards of ${bodies.size}`);
  }

  // GET fidelity: the exact bytes back.
  let same = 0;
  start = performance.now();
  await pool([...bodies], 8, performance.now() + phaseBudgetMs, async ([name, body]) => {
    const got = await expectStatus(t, 'GET', `${seqBook}${name}`, [200]);
    if (got.body.equals(Buffer.from(body, 'utf8'))) same++;
  });
  const fidelity = bodies.size ? same / bodies.size : 0;

  // sync-collection: initial, no-op, after 10 edits.
  const initial = await timed(t, () => sync(t, seqBook, ''));
  if (initial.result.changes !== bodies.size) {
    console.warn(`  ${t.name}: initial sync-collection listed ${initial.result.changes} of ${bodies.size}`);
  }
  let token = initial.result.token;
  const noops: Timing[] = [];
  for (let round = 0; round < 5; round++) {
    const noop = await timed(t, () => sync(t, seqBook, token));
    if (noop.result.changes !== 0) console.warn(`  ${t.name}: no-op sync listed ${noop.result.changes}`);
    token = noop.result.token;
    noops.push(noop);
  }
  const edits: Timing[] = [];
  const names = [...bodies.keys()];
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < 10; k++) {
      const index = ((round * 10 + k) * 7) % names.length;
      const name = names[index] as string;
      const body = vcard(name.replace(/\.vcf$/, ''), index, round + 1);
      await expectStatus(t, 'PUT', `${seqBook}${name}`, [201, 204], body);
      bodies.set(name, body);
    }
    const after = await timed(t, () => sync(t, seqBook, token));
    if (after.result.changes !== 10) console.warn(`  ${t.name}: sync after 10 edits listed ${after.result.changes}`);
    token = after.result.token;
    edits.push(after);
  }

  return {
    server: t.name,
    n,
    put1: seq.rate,
    put1Partial: seq.partial,
    put8: par.rate,
    put8Partial: par.partial,
    cpuPerPutMs,
    cpuPerPut1Ms,
    cpuPerPut8Ms,
    coldCpuPerPutMs,
    warmupPuts: warmed,
    stored: seq.stored.length,
    fullSyncS,
    fullSyncCards,
    syncInitial: initial,
    syncNoop: median(noops),
    syncEdits: median(edits),
    fidelity,
    rssStartMb: t.rssStartMb,
    rssMb: await rssMb(t.pid),
  };
}

// ---------------------------------------------------------------- main

const ms = (x: Timing) => `${x.wallMs.toFixed(1)}${x.serverMs === undefined ? '' : ` (srv ${x.serverMs.toFixed(1)})`}`;

function table(rows: Row[]) {
  const header = [
    'server',
    'N',
    'PUT c=1 /s',
    'PUT c=8 /s',
    'CPU/PUT ms',
    'cold CPU/PUT ms (PUTs)',
    'full sync s',
    'sync init ms',
    'sync no-op ms',
    'sync 10 edits ms',
    'GET fidelity',
    'RSS start/end MB',
  ];
  const lines = rows.map((r) => [
    r.server,
    r.n.toLocaleString('en-US'),
    `${r.put1.toFixed(0)}${r.put1Partial ? '*' : ''}`,
    `${r.put8.toFixed(0)}${r.put8Partial ? '*' : ''}`,
    r.cpuPerPutMs.toFixed(2),
    `${r.coldCpuPerPutMs.toFixed(2)} (${r.warmupPuts})`,
    `${r.fullSyncS.toFixed(3)}${r.fullSyncCards !== r.n ? ` (${r.fullSyncCards})` : ''}`,
    ms(r.syncInitial),
    ms(r.syncNoop),
    ms(r.syncEdits),
    r.fidelity.toFixed(3),
    `${r.rssStartMb.toFixed(0)} / ${r.rssMb.toFixed(0)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}

let current: Target | undefined;
const watchdog = setTimeout(async () => {
  console.error(`bench/dav: over the ${runBudgetMs / 60_000} minute budget, stopping`);
  await current?.stop().catch(() => {});
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, runBudgetMs);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await current?.stop().catch(() => {});
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

console.log(
  `bench/dav on node ${process.version}, N = ${sizes.join(', ')}${quick ? ' (quick)' : ''}, ` +
    `PUT phases capped at ${phaseBudgetMs / 1000} s`,
);
const rows: Row[] = [];
// Measured first, on a machine not yet busy with the servers' runs, as each server's RSS at start is.
const floor = serverNames.some((name) => name.startsWith('holdfast')) ? await memoryFloor() : undefined;
try {
  for (const n of sizes) {
    for (const name of serverNames) {
      const server = servers[name];
      if (!server) throw new Error(`unknown server ${name}`);
      if (!server.installed()) {
        if (n === sizes[0]) console.log(`${name}: not installed, skipped (install with: ${server.install})`);
        continue;
      }
      current = await server.start();
      try {
        const row = await benchOne(current, n);
        rows.push(row);
        console.log(
          `  ${name} N=${n}: PUT ${row.put1.toFixed(0)}/${row.put8.toFixed(0)} cards/s ` +
            `(${row.cpuPerPutMs.toFixed(2)} ms CPU each: ${row.cpuPerPut1Ms.toFixed(2)} at c=1, ` +
            `${row.cpuPerPut8Ms.toFixed(2)} at c=8; ${row.coldCpuPerPutMs.toFixed(2)} ms over ` +
            `${row.warmupPuts} warm-up PUTs), full sync ` +
            `${row.fullSyncS.toFixed(3)} s, sync ${ms(row.syncInitial)} / ${ms(row.syncNoop)} / ${ms(row.syncEdits)} ms`,
        );
      } catch (error) {
        console.log(`  ${name} N=${n}: failed, skipped: ${(error as Error).message.slice(0, 500)}`);
      } finally {
        await current.stop();
        current = undefined;
      }
    }
  }
} finally {
  clearTimeout(watchdog);
}

console.log('');
table(rows);
console.log('');
console.log(
  '* = PUT phase stopped at the time cap. sync ms: wall time on loopback, median of 5 for no-op and 10 edits; ' +
    '"srv" = Holdfast server time from /metrics.',
);
console.log(
  'Holdfast targets: PUT c=8 >= 1,500 cards/s durable | CPU per PUT <= 0.7 ms | full sync of 1,000 cards <= 0.1 s, ' +
    'of 10,000 < 1 s | sync after 10 edits < 5 ms server time | RSS <= 60 MiB at start, <= 100 MiB after 10,000 cards',
);
for (const r of rows.filter((x) => x.server.startsWith('holdfast-target'))) {
  const check = r.server === 'holdfast-target-dir' ? ` ${r.put8 >= 1000 ? 'meets' : 'misses'} 1,000/s` : '';
  console.log(
    `  ${r.server} N=${r.n.toLocaleString('en-US')}: PUT c=8 ${r.put8.toFixed(0)}/s${check} with backupAck=target (RPO 0), ` +
      `beside ${rows.find((x) => x.server === 'holdfast' && x.n === r.n)?.put8.toFixed(0) ?? '-'}/s acknowledged local`,
  );
}
for (const r of rows.filter((x) => x.server === 'holdfast')) {
  const checks = [
    `PUT c=8 ${r.put8.toFixed(0)}/s ${r.put8 >= 1500 ? 'meets' : 'misses'} 1,500`,
    `CPU per PUT ${r.cpuPerPutMs.toFixed(2)} ms ${r.cpuPerPutMs <= 0.7 ? 'meets' : 'misses'} 0.7 ms ` +
      `(cold ${r.coldCpuPerPutMs.toFixed(2)})`,
    r.n === 10_000 ? `full sync ${r.fullSyncS.toFixed(3)} s ${r.fullSyncS < 1 ? 'meets' : 'misses'} 1 s` : undefined,
    r.n === 1000 ? `full sync ${r.fullSyncS.toFixed(3)} s ${r.fullSyncS <= 0.1 ? 'meets' : 'misses'} 0.1 s` : undefined,
    `RSS at start ${r.rssStartMb.toFixed(0)} MiB ${r.rssStartMb <= 60 ? 'meets' : 'misses'} 60 MiB`,
    r.n === 10_000
      ? `RSS at the end ${r.rssMb.toFixed(0)} MiB ${r.rssMb <= 100 ? 'meets' : 'misses'} 100 MiB`
      : undefined,
    r.syncEdits.serverMs === undefined
      ? undefined
      : `sync after 10 edits ${r.syncEdits.serverMs.toFixed(1)} ms server ${r.syncEdits.serverMs < 5 ? 'meets' : 'misses'} 5 ms`,
  ].filter(Boolean);
  console.log(`  holdfast N=${r.n.toLocaleString('en-US')}: ${checks.join('; ')}`);
}
if (floor)
  console.log(
    `RSS floor (bench/memory-floor.mjs: node with the server's flags, only Fastify and pino, Kysely on better-sqlite3 ` +
      `and zod, one route, nothing of Holdfast): ${floor.installed.toFixed(0)} MiB as installed, ` +
      `${floor.bundled.toFixed(0)} MiB bundled and minified` +
      (Math.min(floor.installed, floor.bundled) > 60 ? '; the idle target of 60 MiB is below both' : ''),
  );
