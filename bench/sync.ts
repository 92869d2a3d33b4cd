import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangesResponse, Collection, LoginResponse, PushResponse } from '@holdfast/protocol';
import { type AckTarget, ackLabel, ackTargets, prepareAckTarget } from './ack-targets.js';
import { contactCard, cpuSeconds, rssMb, run, serve, startPostgres } from './support.js';

/** HOLDFAST_BENCH_QUICK=1: a small run that checks the script works (figures are not comparable). */
const quick = process.env.HOLDFAST_BENCH_QUICK === '1';
/** HOLDFAST_BENCH_SYNC_PUSHED: contacts in the timed push (a multiple of 100, at most 10,000; default 10,000, 1,000 when quick). */
const PUSHED = Number(process.env.HOLDFAST_BENCH_SYNC_PUSHED ?? (quick ? 1000 : 10_000));
const TOTAL = quick ? 3000 : 100_000;

/** The server's JS heap in use, from its own Prometheus metrics. */
async function heapMb(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const bytes = Number(/^holdfast_process_nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0);
  return bytes / 1024 / 1024;
}

async function json<T>(url: string, method: string, token: string | null, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<T>;
}

/** Pushes contacts `from`..`to`; returns the weakest durability any push was acknowledged with. */
async function pushRange(url: string, token: string, collectionId: string, from: number, to: number, batch = 100) {
  let durability: 'target' | 'local' = 'target';
  for (let start = from; start < to; start += batch) {
    const changes = [];
    for (let i = start; i < Math.min(to, start + batch); i++) {
      changes.push({
        clientChangeId: `bench-${i}`,
        collectionId,
        itemId: `bench-${i}`,
        op: 'put',
        baseRevision: null,
        content: contactCard(i, { detailed: true }),
      });
    }
    const result = await json<PushResponse>(`${url}/v1/push`, 'POST', token, { changes });
    if (result.results.some((r) => r.status !== 'applied')) throw new Error('push not applied');
    if (result.durability === 'local') durability = 'local';
  }
  return durability;
}

async function pullAll(url: string, token: string): Promise<number> {
  let cursor = '';
  let count = 0;
  for (;;) {
    const page = await json<ChangesResponse>(
      `${url}/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      'GET',
      token,
    );
    count += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) return count;
  }
}

/** Pushes per second with a directory target in `backupAck=target` mode, by engine, for the summary. */
const targetRates: string[] = [];
/** Server RSS at start, after about 10,000 and after TOTAL contacts (runs without a target), by engine. */
const memory: string[] = [];

/** The memory targets: RSS at start (idle), after 10,000 contacts and after 100,000, in MiB. */
const RSS_TARGETS = { start: 60, tenThousand: 100, hundredThousand: 150 };

const judged = (mib: number, target: number) =>
  `${mib.toFixed(0)} MiB (${mib <= target ? 'meets' : 'misses'} ${target})`;

async function benchEngine(engine: 'sqlite' | 'postgres', ack: AckTarget, databaseUrl?: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-bench-'));
  const backup = await prepareAckTarget(ack);
  const env: Record<string, string> = { ...backup.env, HOLDFAST_DATA_DIR: dataDir, HOLDFAST_LOG_LEVEL: 'warn' };
  if (databaseUrl) env.HOLDFAST_DATABASE_URL = databaseUrl;
  await run(['user', 'add', 'bench'], env, 'bench-password\n');
  const { url, child } = await serve(env);
  const startupRss = await rssMb(child.pid as number);
  try {
    const login = await json<LoginResponse>(`${url}/v1/auth/login`, 'POST', null, {
      username: 'bench',
      password: 'bench-password',
    });
    const token = login.token as string;
    const collection = await json<Collection>(`${url}/v1/collections`, 'POST', token, {
      type: 'contacts',
      name: 'bench',
    });

    await pushRange(url, token, collection.id, 0, 1000); // warm-up
    const pid = child.pid as number;
    let cpu = await cpuSeconds(pid);
    let t = performance.now();
    const durability = await pushRange(url, token, collection.id, 1000, 1000 + PUSHED);
    const pushSeconds = (performance.now() - t) / 1000;
    const pushPerSecond = PUSHED / pushSeconds;
    // Server CPU per 1,000 contacts: steadier than the rate on a shared machine.
    const pushCpu = `server CPU ${((((await cpuSeconds(pid)) - cpu) * 1_000_000) / PUSHED).toFixed(0)} ms per 1,000`;
    const afterPushedRss = await rssMb(child.pid as number);
    const label = `${engine}/${ackLabel(ack)}`.padEnd(18);
    if (ack !== 'none') {
      // Four devices pushing at once share segments as they share commits.
      cpu = await cpuSeconds(pid);
      t = performance.now();
      await Promise.all(
        [0, 1, 2, 3].map((d) => pushRange(url, token, collection.id, 200_000 + d * 2500, 202_500 + d * 2500)),
      );
      const concurrent = 10_000 / ((performance.now() - t) / 1000);
      const concurrentCpu = ((await cpuSeconds(pid)) - cpu) * 100;
      console.log(
        `${label} push ${pushPerSecond.toFixed(0).padStart(6)} contacts/s (${PUSHED.toLocaleString('en-US')} in batches of 100; ${pushCpu})` +
          `, ${concurrent.toFixed(0)} contacts/s with 4 devices at once (${concurrentCpu.toFixed(0)} ms per 1,000) | acknowledged ${durability} (RPO ${durability === 'target' ? '0' : 'the shipping lag'})`,
      );
      if (ack === 'directory') {
        targetRates.push(
          `${engine} ${pushPerSecond.toFixed(0)}/s ${pushPerSecond >= 10_000 ? 'meets' : 'misses'} 10,000`,
        );
      }
      return;
    }

    const fresh = await json<LoginResponse>(`${url}/v1/auth/login`, 'POST', null, {
      username: 'bench',
      password: 'bench-password',
    });
    await pullAll(url, fresh.token); // warm-up
    t = performance.now();
    const pulled = await pullAll(url, fresh.token);
    const pullMs = performance.now() - t;
    // Four devices pushing at once: client work overlaps server work.
    cpu = await cpuSeconds(pid);
    t = performance.now();
    await Promise.all(
      [0, 1, 2, 3].map((d) => pushRange(url, token, collection.id, 11_000 + d * 2500, 13_500 + d * 2500)),
    );
    const concurrentSeconds = (performance.now() - t) / 1000;
    const concurrentCpu = ((await cpuSeconds(pid)) - cpu) * 100;

    if (TOTAL > 21_000) await pushRange(url, token, collection.id, 21_000, TOTAL);
    const rss = await rssMb(child.pid as number);
    const heap = await heapMb(url);
    const stored = (TOTAL > 21_000 ? TOTAL : 11_000 + PUSHED).toLocaleString('en-US');
    memory.push(
      `${engine}: ${judged(startupRss, RSS_TARGETS.start)} at start, ` +
        `${judged(afterPushedRss, RSS_TARGETS.tenThousand)} after ${(1000 + PUSHED).toLocaleString('en-US')} contacts, ` +
        `${judged(rss, RSS_TARGETS.hundredThousand)} after ${stored}`,
    );
    console.log(
      `${label} push ${pushPerSecond.toFixed(0).padStart(6)} contacts/s (${PUSHED.toLocaleString('en-US')} in batches of 100; ${pushCpu})` +
        `, ${(10_000 / concurrentSeconds).toFixed(0)} contacts/s with 4 devices at once (${concurrentCpu.toFixed(0)} ms per 1,000)` +
        ` | pull ${pulled} revisions in ${pullMs.toFixed(0)} ms ` +
        ` | acknowledged ${durability} | server RSS ${rss.toFixed(0)} MB after ${stored} contacts (JS heap ${heap.toFixed(0)} MB; ${startupRss.toFixed(0)} MB at start)`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
    await backup.stop();
  }
}

/** Empties the bench database, so the next run starts from an empty log. */
async function resetDatabase(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}

const engines = (process.env.HOLDFAST_BENCH_ENGINES ?? 'sqlite,postgres').split(',');
console.log(`bench/sync on node ${process.version}`);
if (engines.includes('sqlite')) for (const ack of ackTargets) await benchEngine('sqlite', ack);
if (engines.includes('postgres')) {
  const pg = await startPostgres();
  try {
    for (const [i, ack] of ackTargets.entries()) {
      // A fresh database per run: each run starts from an empty log.
      if (i > 0) await resetDatabase(pg.url);
      await benchEngine('postgres', ack, pg.url);
    }
  } finally {
    await pg.stop();
  }
}
console.log(
  `Targets: push >= 10,000 contacts/s in batches of 100 with a directory target (backupAck=target): ${
    targetRates.join('; ') || 'not run'
  } | RPO 0 in target mode (acknowledged once on the target)`,
);
console.log(
  `Memory targets (server RSS, no backup target): <= ${RSS_TARGETS.start} MiB at start, <= ${RSS_TARGETS.tenThousand} MiB at 10,000 contacts, <= ${RSS_TARGETS.hundredThousand} MiB after 100,000${quick ? ' (quick run: fewer contacts, not comparable)' : ''}: ${
    memory.join('; ') || 'not run'
  }`,
);
