/**
 * bench/load: many devices at once, on one server and on three.
 *
 *   npm run bench:load
 *
 * HOLDFAST_BENCH_USERS users (default 50) with HOLDFAST_BENCH_DEVICES devices
 * each (default 2) run a mix of pushes, pulls (/v1/changes with cursors), DAV
 * syncs (PROPFIND + sync-collection REPORT with an app password), DAV PUTs and
 * blob uploads (each followed by a push of the photo that refers to it), every
 * device with an event stream (/v1/events) open, for HOLDFAST_BENCH_SECONDS
 * (default 20). Cases (HOLDFAST_BENCH_LOAD_CASES, comma-separated):
 *
 * - `sqlite`: one server on SQLite, no backup target;
 * - `sqlite-backup`: the same with a directory backup target;
 * - `postgres-3`: three server processes on one PostgreSQL (embedded, or
 *   HOLDFAST_BENCH_POSTGRES_URL), blobs and the backup target on S3 (s3rver);
 *   devices are spread over the servers round robin.
 *
 * Each user's DAV client signs in once before the measured window (as it
 * would have minutes earlier), the event streams open first, and the devices
 * run HOLDFAST_BENCH_WARMUP_SECONDS (default 3) before the window opens, so
 * the window measures the steady state, not 200 connections opening at once.
 * HOLDFAST_BENCH_MIX replaces the mix (e.g. `pull=1`: one kind alone).
 *
 * Prints requests/s, p50 and p99 latency and errors per kind, the CPU of the
 * servers and of the generator, how the servers' event loops were scheduled
 * and what the servers measured per route (bench/load-probes.ts), then checks that
 * every acknowledged write (push result `applied`, DAV PUT 201/204, blob upload
 * 200/201) is in the database and, once the backup target has caught up, in a
 * restore of it: "acknowledged writes missing: N".
 *
 * Targets (2 cores): >= 2,000 mixed requests/s at p99 < 100 ms on one server,
 * zero acknowledged writes missing.
 */

import type { ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Config,
  closeContext,
  createAppPassword,
  createContext,
  createUser,
  databaseLocation,
  loadConfig,
  openDatabase,
  readBackupStatus,
} from '@holdfast/server';
import { startS3, type TestS3 } from '@holdfast/test-support/s3rver';
import { countMissing } from './load-check.js';
import { describeWindow, probe } from './load-probes.js';
import { type Acknowledged, drive, type LoadUser, listen, measured, percentile, type Stats } from './load-traffic.js';
import { run, serve, startPostgres } from './support.js';

const SECONDS = Number(process.env.HOLDFAST_BENCH_SECONDS ?? 20);
const USERS = Number(process.env.HOLDFAST_BENCH_USERS ?? 50);
const DEVICES = Number(process.env.HOLDFAST_BENCH_DEVICES ?? 2);
/** Seconds the devices run before the measured window opens (not counted). */
const WARMUP_SECONDS = Number(process.env.HOLDFAST_BENCH_WARMUP_SECONDS ?? 3);
const CASES = (process.env.HOLDFAST_BENCH_LOAD_CASES ?? 'sqlite,sqlite-backup,postgres-3').split(',');
const PASSWORD = 'bench-password-1';
const PASSPHRASE = 'bench passphrase';
/** How long the backup target may take to catch up after the load stops. */
const CATCH_UP_MS = 120_000;

async function json<T>(url: string, token: string | null, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<T>;
}

/** Users and app passwords straight in the database (as `holdfast user add` does), before any server starts. */
async function createAccounts(config: Config): Promise<{ username: string; appPassword: string }[]> {
  const ctx = await createContext(config);
  try {
    const accounts = [];
    for (let u = 0; u < USERS; u++) {
      const username = `load${u}`;
      await createUser(ctx, username, PASSWORD);
      accounts.push({ username, appPassword: (await createAppPassword(ctx, username, 'bench')).password });
    }
    return accounts;
  } finally {
    await closeContext(ctx);
  }
}

/** Devices log in, each user gets a notes, a photos and a contacts collection, and DAV signs in once. */
async function prepareUsers(urls: string[], accounts: { username: string; appPassword: string }[]) {
  const users: LoadUser[] = [];
  for (const [u, account] of accounts.entries()) {
    const url = urls[u % urls.length] as string;
    const tokens: string[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const login = await json<{ token: string }>(`${url}/v1/auth/login`, null, {
        username: account.username,
        password: PASSWORD,
        deviceName: `device ${d}`,
      });
      tokens.push(login.token);
    }
    const collection = async (type: string) =>
      (await json<{ id: string }>(`${url}/v1/collections`, tokens[0] as string, { type, name: type })).id;
    const user = {
      ...account,
      tokens,
      notes: await collection('notes'),
      photos: await collection('photos'),
      contacts: await collection('contacts'),
    };
    // The DAV client's first sign-in, before the window: an app password costs one argon2 verification per
    // davCredentialCacheSeconds (five minutes), so a window that began with every cache cold would overstate it.
    // Each server remembers its own verifications: sign in on every server this user's devices will use.
    const servers = new Set(Array.from({ length: DEVICES }, (_, d) => urls[(u * DEVICES + d) % urls.length] as string));
    for (const server of servers) {
      const first = await fetch(`${server}/dav/addressbooks/${user.username}/${user.contacts}/`, {
        method: 'PROPFIND',
        headers: {
          authorization: `Basic ${Buffer.from(`${user.username}:${user.appPassword}`).toString('base64')}`,
          depth: '0',
        },
      });
      if (first.status !== 207) throw new Error(`first DAV sign-in of ${user.username}: ${first.status}`);
      await first.arrayBuffer();
    }
    users.push(user);
  }
  return users;
}

function report(label: string, stats: Stats, seconds: number, servers: number, serverCpu: number) {
  const rows = [['kind', 'req/s', 'p50 ms', 'p99 ms', 'errors']];
  const all: number[] = [];
  let errors = 0;
  for (const [name, entry] of [...stats].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = entry.latencies.sort((a, b) => a - b);
    if (name !== 'events-open') all.push(...sorted);
    errors += entry.errors;
    rows.push([
      name === 'events-open' ? `events-open (${entry.events} events received)` : name,
      (sorted.length / seconds).toFixed(0),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      String(entry.errors),
    ]);
  }
  all.sort((a, b) => a - b);
  const rate = all.length / seconds;
  const p99 = percentile(all, 99);
  rows.push(['all requests', rate.toFixed(0), percentile(all, 50).toFixed(1), p99.toFixed(1), String(errors)]);
  console.log(`\n${label}`);
  for (const row of rows)
    console.log(
      `  ${(row[0] as string).padEnd(42)}${row
        .slice(1)
        .map((c) => c.padStart(9))
        .join('')}`,
    );
  const met = rate >= 2000 && p99 < 100;
  const figure = `${rate.toFixed(0)} req/s at p99 ${p99.toFixed(1)} ms`;
  console.log(
    servers > 1
      ? `  ${servers} servers: ${figure} (one-server target beside it: >= 2,000 req/s at p99 < 100 ms)`
      : `  target: >= 2,000 mixed requests/s at p99 < 100 ms: ${figure}, ${met ? 'met' : 'NOT met'}`,
  );
  // What a request costs the server processes, whatever else the machine was doing: the basis for extrapolating.
  const perRequest = (serverCpu * 1000) / all.length;
  console.log(
    `  server CPU: ${serverCpu.toFixed(1)} s in ${seconds.toFixed(1)} s (${(serverCpu / seconds).toFixed(2)} cores), ` +
      `${perRequest.toFixed(2)} ms per request, so about ${(1000 / perRequest).toFixed(0)} req/s per core fully used` +
      `${servers > 1 ? ' (Holdfast processes only, PostgreSQL and s3rver not counted)' : ''}`,
  );
}

/** Waits until every backup target can restore up to the database head; returns the seconds it took, or null. */
async function waitForBackup(config: Config): Promise<number | null> {
  const db = openDatabase(databaseLocation(config), { create: false });
  const start = performance.now();
  try {
    while (performance.now() - start < CATCH_UP_MS) {
      const statuses = await readBackupStatus(config, db);
      if (statuses.every((s) => s.lagRevisions === 0)) return (performance.now() - start) / 1000;
      await new Promise((r) => setTimeout(r, 250));
    }
    return null;
  } finally {
    await db.close();
  }
}

async function runCase(name: string) {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-bench-load-'));
  const servers = name === 'postgres-3' ? 3 : 1;
  const pg = name === 'postgres-3' ? await startPostgres() : null;
  let s3: TestS3 | null = null;
  const children: ChildProcess[] = [];
  try {
    // All load comes from one address here; a real deployment sees many.
    const env: Record<string, string> = {
      HOLDFAST_LOG_LEVEL: 'warn',
      HOLDFAST_MAX_CONNECTIONS_PER_ADDRESS: '100000',
    };
    let backupTarget = '';
    if (pg) {
      s3 = await startS3();
      env.HOLDFAST_DATABASE = pg.url;
      env.HOLDFAST_S3_ENDPOINT = s3.endpoint;
      env.HOLDFAST_S3_ACCESS_KEY_ID = s3.credentials.accessKeyId;
      env.HOLDFAST_S3_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
      env.HOLDFAST_BLOBS = `s3://${s3.bucket}/blobs/`;
      backupTarget = `s3://${s3.bucket}/backup/`;
    } else if (name === 'sqlite-backup') {
      backupTarget = join(base, 'backup');
      await mkdir(backupTarget);
    }
    if (backupTarget) {
      env.HOLDFAST_BACKUP_TARGETS = backupTarget;
      env.HOLDFAST_BACKUP_PASSPHRASE = PASSPHRASE;
    }
    // SQLite: one data directory shared by setup and the server. PostgreSQL: one per process.
    const dataDir = (i: number) => join(base, pg ? `data-${i}` : 'data');
    const config = loadConfig({ flags: { data: dataDir(0) }, env });
    const accounts = await createAccounts(config);
    if (backupTarget) {
      await run(['backup', 'init'], { ...env, HOLDFAST_DATA_DIR: dataDir(0) });
      await run(['backup', 'run'], { ...env, HOLDFAST_DATA_DIR: dataDir(0) });
    }
    const urls: string[] = [];
    for (let i = 0; i < servers; i++) {
      const { url, child } = await serve({ ...env, HOLDFAST_DATA_DIR: dataDir(pg ? i + 1 : 0) });
      urls.push(url);
      children.push(child);
    }
    const users = await prepareUsers(urls, accounts);

    const stats: Stats = new Map();
    const acked: Acknowledged = { pushes: [], davPuts: [], blobs: [] };
    const stop = new AbortController();
    // One abort signal ends every event stream.
    setMaxListeners(0, stop.signal);
    const listeners = [];
    const devices = [];
    const pids = children.map((c) => c.pid as number);
    let n = 0;
    for (const user of users) {
      for (let d = 0; d < DEVICES; d++) {
        listeners.push(listen(stats, urls[n++ % urls.length] as string, user.tokens[d] as string, stop.signal));
      }
    }
    await Promise.all(listeners.map((l) => l.opened));
    // The devices start together and warm up (connections, caches) before the measured window opens.
    measured.from = performance.now() + WARMUP_SECONDS * 1000;
    const deadline = measured.from + SECONDS * 1000;
    n = 0;
    for (const user of users) {
      for (let d = 0; d < DEVICES; d++) {
        devices.push(drive(stats, acked, urls[n++ % urls.length] as string, user, d, deadline));
      }
    }
    await new Promise((r) => setTimeout(r, measured.from - performance.now()));
    // The window runs from `measured.from`, however long the probe takes to be answered by a busy server.
    const before = await probe(urls, pids);
    const start = measured.from;
    await Promise.all(devices);
    // Each request's start and latency, by kind, to see when requests waited (HOLDFAST_BENCH_TRACE=file.json).
    if (process.env.HOLDFAST_BENCH_TRACE) {
      await writeFile(
        process.env.HOLDFAST_BENCH_TRACE,
        JSON.stringify({
          start,
          kinds: Object.fromEntries([...stats].map(([k, v]) => [k, { l: v.latencies, s: v.starts }])),
        }),
      );
    }
    const elapsed = (performance.now() - start) / 1000;
    const after = await probe(urls, pids);
    stop.abort();
    await Promise.all(listeners.map((l) => l.closed));

    const label =
      `${name}: ${servers} server${servers > 1 ? 's' : ''} on ${pg ? 'PostgreSQL, blobs on S3 (s3rver)' : 'SQLite'}, ` +
      `${backupTarget ? `backup target ${pg ? 'on S3 (s3rver)' : 'a directory'}` : 'no backup target'}; ` +
      `${USERS} users x ${DEVICES} devices for ${elapsed.toFixed(1)} s`;
    report(label, stats, elapsed, servers, after.serverCpu - before.serverCpu);
    for (const line of await describeWindow(before, after, elapsed, pids)) console.log(`  ${line}`);

    const caughtUp = backupTarget ? await waitForBackup(config) : null;
    for (const child of children.splice(0)) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const inDatabase = await countMissing(databaseLocation(config), acked, null);
    console.log(
      `  acknowledged writes: ${acked.pushes.length} push results, ${acked.davPuts.length} DAV PUTs, ${acked.blobs.length} blob uploads`,
    );
    let inBackup = 0;
    let backupNote = 'no backup target';
    if (backupTarget) {
      const restored = join(base, 'restored');
      await run(['backup', 'restore', '--target', '1', '--to-data', restored], {
        ...env,
        HOLDFAST_DATA_DIR: dataDir(0),
      });
      inBackup = await countMissing(join(restored, 'holdfast.db'), acked, join(restored, 'blobs'));
      const lag = caughtUp === null ? `NOT within ${CATCH_UP_MS / 1000} s` : `${caughtUp.toFixed(1)} s after the load`;
      backupNote = `${inBackup} from a restore of the backup target, which caught up ${lag}`;
    }
    console.log(
      `  acknowledged writes missing: ${inDatabase + inBackup} (${inDatabase} from the database; ${backupNote}) [target: 0]`,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await s3?.cleanup();
    await pg?.stop();
    await rm(base, { recursive: true, force: true });
  }
}

console.log(`bench/load on node ${process.version} (figures from a shared machine are noisy)`);
for (const name of CASES) await runCase(name);
