/**
 * bench/client: the device SDK (`@holdfast/client` with its SQLite replica)
 * against a real Holdfast server process on loopback (embedded SQLite). The
 * server and the SDK run from the built code (`npm run build` first;
 * `npm run bench:client` does both).
 *
 * 1. Restore: 10,000 contacts and 200 photos (100 KB each) into a fresh
 *    device. Targets: >= 5,000 items/s (all items over the whole restore,
 *    blobs included) and >= 50 MB/s of blobs (blob bytes over the time from
 *    the first blob request to the last blob stored).
 * 2. Incremental sync: another device pushes one change, this device (a
 *    replica of 10,000+ items) syncs. Median and p95 of this device's
 *    `sync()` over 50 rounds. Target < 20 ms.
 * 3. Client memory: a separate child process (plain node, no tsx, so only
 *    the SDK is counted) restores 100,000 contacts, then syncs one change.
 *    RSS and heap after each, after a GC. Target < 100 MB. Shown for
 *    information: the RSS before the restore (node with the SDK loaded and
 *    logged in), the peak, and the same run with `--max-semi-space-size=1`
 *    (stock node grows V8's young generation to 32 MB under any sustained
 *    allocation).
 *
 * Before it is measured, the server has served the feed and every blob once (as a long-running server would
 * have: JIT-compiled); the five first incremental rounds are not counted. The machine's other load shows in
 * every figure: run it on an otherwise idle machine.
 *
 * HOLDFAST_BENCH_QUICK=1: a quick run (1,000 contacts, 20 photos, 10,000 in
 * the memory child, 20 rounds); the targets are then only indicative.
 * HOLDFAST_BENCH_PARTS=restore,incremental,memory: run only some parts (incremental needs restore).
 * HOLDFAST_BENCH_SERVER_NODE_ARGS / HOLDFAST_BENCH_CHILD_NODE_ARGS: extra node
 * flags for the server or the memory child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 * To profile parts 1 and 2, run this file itself under `node --cpu-prof --import tsx`.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BlobCache,
  createClient,
  type HoldfastClient,
  openSqliteStore,
  type ReplicaStore,
} from '@holdfast/client';
import { contactCard, run, serve } from './support.js';

const root = fileURLToPath(new URL('../', import.meta.url));

const quick = process.env.HOLDFAST_BENCH_QUICK === '1';
const N = {
  contacts: quick ? 1000 : 10_000,
  photos: quick ? 20 : 200,
  photoBytes: 100 * 1024,
  rounds: quick ? 20 : 50,
  warmupRounds: 5,
  memoryContacts: quick ? 10_000 : 100_000,
};
const parts = new Set((process.env.HOLDFAST_BENCH_PARTS ?? 'restore,incremental,memory').split(','));
const PASSWORD = 'bench-password';

/** A JPEG the server reads the size of: SOI, a baseline frame header, then random "scan" bytes and EOI. */
function photo(size: number, width = 1600, height = 1200): Buffer {
  // biome-ignore format: one marker segment a line
  const head = Buffer.from([
    0xff, 0xd8, // SOI
    0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03,
    0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, // SOF0, 3 components
    0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, // SOS
  ]);
  const tail = Buffer.from([0xff, 0xd9]);
  return Buffer.concat([head, randomBytes(size - head.length - tail.length), tail]);
}

// ---------------------------------------------------------------------------------------------------------------
// Server process and raw HTTP (seeding is not what is measured, so it bypasses the SDK)

// biome-ignore lint/suspicious/noExplicitAny: the bench reads the server's JSON loosely, like bench/sync.ts
async function http(url: string, method: string, token: string | null, body?: unknown): Promise<any> {
  const binary = body instanceof Uint8Array;
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': binary ? 'application/octet-stream' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: binary ? body : JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

interface Account {
  username: string;
  token: string;
}

async function account(url: string, env: Record<string, string>, username: string): Promise<Account> {
  await run(['user', 'add', username], env, `${PASSWORD}\n`);
  const login = await http(`${url}/v1/auth/login`, 'POST', null, { username, password: PASSWORD, deviceName: 'seed' });
  return { username, token: login.token };
}

async function pushChanges(url: string, token: string, changes: unknown[]): Promise<void> {
  for (let start = 0; start < changes.length; start += 1000) {
    const result = await http(`${url}/v1/push`, 'POST', token, { changes: changes.slice(start, start + 1000) });
    const bad = result.results.find((r: { status: string }) => r.status !== 'applied');
    if (bad) throw new Error(`seed push not applied: ${JSON.stringify(bad)}`);
  }
}

async function seedContacts(url: string, who: Account, collectionId: string, from: number, to: number) {
  await http(`${url}/v1/collections`, 'POST', who.token, { id: collectionId, type: 'contacts', name: 'Contacts' });
  for (let start = from; start < to; start += 5000) {
    const changes = [];
    for (let i = start; i < Math.min(to, start + 5000); i++) {
      changes.push({
        clientChangeId: `seed-${collectionId}-${i}`,
        collectionId,
        itemId: `c${i}`,
        op: 'put',
        baseRevision: null,
        content: contactCard(i, { detailed: true }),
      });
    }
    await pushChanges(url, who.token, changes);
  }
}

async function seedPhotos(url: string, who: Account, count: number, bytes: number): Promise<number> {
  await http(`${url}/v1/collections`, 'POST', who.token, { id: 'photos', type: 'photos', name: 'Photos' });
  let total = 0;
  const changes = [];
  for (let i = 0; i < count; i++) {
    const image = photo(bytes);
    const sha256 = createHash('sha256').update(image).digest('hex');
    await http(`${url}/v1/blobs/${sha256}`, 'PUT', who.token, image);
    total += image.length;
    changes.push({
      clientChangeId: `seed-photo-${i}`,
      collectionId: 'photos',
      itemId: `p${i}`,
      op: 'put',
      baseRevision: null,
      content: { filename: `IMG_${String(i).padStart(4, '0')}.jpg` },
      blob: { sha256, contentType: 'image/jpeg' },
    });
  }
  await pushChanges(url, who.token, changes);
  return total;
}

/**
 * Reads the whole feed and every blob once, so the server's change-feed and blob paths are warm (JIT-compiled),
 * as on a long-running server. The client under test does none of this.
 */
async function warmServer(url: string, token: string): Promise<void> {
  let cursor = '';
  const blobs: string[] = [];
  for (;;) {
    const page = await http(`${url}/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, 'GET', token);
    for (const change of page.changes) if (change.blob) blobs.push(change.blob.sha256);
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  for (const sha256 of blobs) {
    const response = await fetch(`${url}/v1/blobs/${sha256}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET blob ${sha256}: ${response.status}`);
    await response.arrayBuffer();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Devices

/** Wraps a store's blob cache to note when the last blob was stored. */
function timedBlobs(store: ReplicaStore, onWrite: (bytes: number) => void): ReplicaStore {
  const blobs: BlobCache = {
    has: (sha) => store.blobs.has(sha),
    read: (sha) => store.blobs.read(sha),
    write: async (sha, source) => {
      const size = await store.blobs.write(sha, source);
      onWrite(size);
      return size;
    },
  };
  return {
    kind: store.kind,
    blobs,
    recoveryDirectory: store.recoveryDirectory,
    transaction: (fn) => store.transaction(fn),
    snapshot: (directory) => store.snapshot(directory),
    close: () => store.close(),
  };
}

async function device(
  url: string,
  dir: string,
  who: Account,
  name: string,
  options: { store?: ReplicaStore; fetch?: typeof fetch } = {},
): Promise<HoldfastClient> {
  const store = options.store ?? openSqliteStore(join(dir, `${name}.db`));
  const client = createClient({ store, serverUrl: url, ...(options.fetch ? { fetch: options.fetch } : {}) });
  await client.login(who.username, PASSWORD, name);
  return client;
}

// ---------------------------------------------------------------------------------------------------------------
// Memory child: plain node (tsx alone adds ~50 MB of RSS), the built SDK, nothing else.

const MEMORY_CHILD = `
import { readFileSync } from 'node:fs';
import { createClient, openSqliteStore } from '@holdfast/client';
const { url, username, password, replica } = JSON.parse(process.env.HOLDFAST_BENCH_CHILD);
const mb = (bytes) => bytes / 1048576;
const memory = () => {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  const peakKb = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return { rss: mb(usage.rss), heap: mb(usage.heapUsed), peak: peakKb / 1024 };
};
const next = () => new Promise((resolve) => process.once('message', resolve));
const client = createClient({ store: openSqliteStore(replica), serverUrl: url });
await client.login(username, password, 'memory-bench');
process.send({ phase: 'ready', ms: 0, pulled: 0, memory: memory() });
let t = performance.now();
const restored = await client.restore();
process.send({ phase: 'restored', ms: performance.now() - t, pulled: restored.pulled, memory: memory() });
const { itemId } = await next();
t = performance.now();
const synced = await client.sync();
const ms = performance.now() - t;
const item = client.getItem(itemId);
process.send({ phase: 'synced', ms, pulled: synced.pulled, changed: item?.content, memory: memory() });
client.close();
process.disconnect();
`;

interface ChildMemory {
  rss: number;
  heap: number;
  peak: number;
}
interface ChildMessage {
  phase: 'ready' | 'restored' | 'synced';
  ms: number;
  pulled: number;
  changed?: unknown;
  memory: ChildMemory;
}

async function memoryChild(
  url: string,
  who: Account,
  replica: string,
  nodeArgs: string[],
  change: () => Promise<{ itemId: string; content: string }>,
) {
  const child = spawn(process.execPath, [...nodeArgs, '--expose-gc', '--input-type=module', '-e', MEMORY_CHILD], {
    cwd: root,
    env: {
      ...process.env,
      HOLDFAST_BENCH_CHILD: JSON.stringify({ url, username: who.username, password: PASSWORD, replica }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ChildMessage[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m) => {
    messages.push(m as ChildMessage);
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const receive = async (): Promise<ChildMessage> => {
    while (messages.length === 0) {
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const code = await Promise.race([arrived.then(() => undefined), exited]);
      if (code !== undefined && messages.length === 0) throw new Error(`memory child exited ${code}`);
    }
    return messages.shift() as ChildMessage;
  };
  const ready = await receive();
  const restored = await receive();
  const edit = await change();
  child.send({ itemId: edit.itemId });
  const synced = await receive();
  if (synced.changed !== edit.content) throw new Error('memory child did not receive the change');
  await exited;
  return { ready, restored, synced };
}

// ---------------------------------------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}

function table(rows: Row[]): string {
  const head = ['figure', 'measured', 'target', 'met'];
  const cells = rows.map((r) => [r.figure, r.value, r.target, r.met === null ? '' : r.met ? 'met' : 'NOT MET']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

async function main() {
  console.log(
    `bench/client on node ${process.version}${quick ? ' (HOLDFAST_BENCH_QUICK: reduced sizes, targets indicative only)' : ''}`,
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-bench-client-'));
  const env: Record<string, string> = { HOLDFAST_DATA_DIR: join(dataDir, 'server'), HOLDFAST_LOG_LEVEL: 'warn' };
  await run(['user', 'add', 'bootstrap'], env, `${PASSWORD}\n`); // creates the database before the server starts
  const { url, child: server } = await serve(env);
  const rows: Row[] = [];
  try {
    let t = performance.now();
    if (parts.has('restore')) {
      // --- seed
      const owner = await account(url, env, 'owner');
      await seedContacts(url, owner, 'contacts', 0, N.contacts);
      const photoBytes = await seedPhotos(url, owner, N.photos, N.photoBytes);
      const items = N.contacts + N.photos;
      await warmServer(url, owner.token);
      console.log(
        `seeded ${N.contacts} contacts and ${N.photos} photos in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );

      // --- 1. restore into a fresh device
      let firstBlobRequest = 0;
      let lastBlobStored = 0;
      let blobsStored = 0;
      const watchBlobs: typeof fetch = (input, init) => {
        if (firstBlobRequest === 0 && String(input).includes('/v1/blobs')) firstBlobRequest = performance.now();
        return fetch(input, init);
      };
      const store = timedBlobs(openSqliteStore(join(dataDir, 'device-a.db')), () => {
        blobsStored++;
        lastBlobStored = performance.now();
      });
      const a = await device(url, dataDir, owner, 'device-a', { store, fetch: watchBlobs });
      t = performance.now();
      const restored = await a.restore();
      const restoreMs = performance.now() - t;
      const local = a.listItems('contacts').length + a.listItems('photos').length;
      if (local !== items || blobsStored !== N.photos || restored.summary !== 'match') {
        throw new Error(`restore incomplete: ${local} items, ${blobsStored} blobs, summary ${restored.summary}`);
      }
      const itemsPerSecond = items / (restoreMs / 1000);
      const blobMbPerSecond = photoBytes / 1048576 / ((lastBlobStored - firstBlobRequest) / 1000);
      console.log(
        `restore: ${items} items in ${restoreMs.toFixed(0)} ms; ${N.photos} blobs (${(photoBytes / 1048576).toFixed(1)} MB)` +
          ` in ${(lastBlobStored - firstBlobRequest).toFixed(0)} ms`,
      );
      rows.push({
        figure: `restore ${N.contacts.toLocaleString('en')} contacts + ${N.photos} photos: items/s`,
        value: itemsPerSecond.toFixed(0),
        target: '>= 5,000',
        met: itemsPerSecond >= 5000,
      });
      rows.push({
        figure: `restore: blob download (${N.photos} x ${N.photoBytes / 1024} KB)`,
        value: `${blobMbPerSecond.toFixed(1)} MB/s`,
        target: '>= 50 MB/s',
        met: blobMbPerSecond >= 50,
      });

      // --- 2. incremental sync of one change
      if (parts.has('incremental')) {
        const b = await device(url, dataDir, owner, 'device-b');
        await b.restore();
        const pushMs: number[] = [];
        const syncMs: number[] = [];
        for (let round = 0; round < N.warmupRounds + N.rounds; round++) {
          const i = (round * 7919) % N.contacts;
          const content = contactCard(i, { detailed: true, note: `Round ${round} of the incremental bench.` });
          let t0 = performance.now();
          b.updateItem(`c${i}`, content);
          const pushed = await b.sync();
          const pushTook = performance.now() - t0;
          if (pushed.pushed !== 1) throw new Error(`device B pushed ${pushed.pushed} changes`);
          t0 = performance.now();
          const synced = await a.sync();
          const syncTook = performance.now() - t0;
          if (synced.pulled < 1 || a.getItem(`c${i}`)?.content !== content)
            throw new Error('device A missed the change');
          if (round >= N.warmupRounds) {
            pushMs.push(pushTook);
            syncMs.push(syncTook);
          }
        }
        syncMs.sort((x, y) => x - y);
        pushMs.sort((x, y) => x - y);
        const median = percentile(syncMs, 50);
        const p95 = percentile(syncMs, 95);
        rows.push({
          figure: `incremental sync of 1 change, ${items.toLocaleString('en')}-item replica: median`,
          value: `${median.toFixed(1)} ms`,
          target: '< 20 ms',
          met: median < 20,
        });
        b.close();
        rows.push({
          figure: `  ... p95 (${N.rounds} rounds)`,
          value: `${p95.toFixed(1)} ms`,
          target: '< 20 ms',
          met: p95 < 20,
        });
        rows.push({
          figure: '  other device: edit + sync pushing it (median / p95)',
          value: `${percentile(pushMs, 50).toFixed(1)} / ${percentile(pushMs, 95).toFixed(1)} ms`,
          target: '(info)',
          met: null,
        });
      }
      a.close();
    }

    // --- 3. client memory for a large replica, in its own process
    if (parts.has('memory')) {
      t = performance.now();
      const big = await account(url, env, 'memory');
      await seedContacts(url, big, 'contacts', 0, N.memoryContacts);
      await warmServer(url, big.token);
      console.log(`seeded ${N.memoryContacts} contacts in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      const changedId = `c${Math.floor(N.memoryContacts / 2)}`;
      const childArgs = (process.env.HOLDFAST_BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
      // The device process as it comes (stock node), then the same with a small young generation, for comparison:
      // node lets V8's young generation grow to 32 MB under any sustained allocation, SDK or not.
      const runs = [
        { label: '', nodeArgs: childArgs, judged: true },
        { label: ' [--max-semi-space-size=1]', nodeArgs: [...childArgs, '--max-semi-space-size=1'], judged: false },
      ];
      for (const [index, run] of runs.entries()) {
        const {
          ready,
          restored: after,
          synced,
        } = await memoryChild(url, big, join(dataDir, `memory-${index}.db`), run.nodeArgs, async () => {
          const item = await http(`${url}/v1/items/${changedId}`, 'GET', big.token);
          const content = contactCard(Math.floor(N.memoryContacts / 2), {
            detailed: true,
            note: `Changed for the memory bench, run ${index}.`,
          });
          await pushChanges(url, big.token, [
            {
              clientChangeId: `memory-change-${index}`,
              collectionId: 'contacts',
              itemId: changedId,
              op: 'put',
              baseRevision: item.revision,
              content,
            },
          ]);
          return { itemId: changedId, content };
        });
        const n = N.memoryContacts.toLocaleString('en');
        console.log(
          `memory child${run.label}: restored ${after.pulled} revisions in ${after.ms.toFixed(0)} ms` +
            ` (${(N.memoryContacts / (after.ms / 1000)).toFixed(0)} items/s); incremental sync ${synced.ms.toFixed(1)} ms`,
        );
        const target = run.judged ? '< 100 MB' : '(info)';
        const met = (mb: number) => (run.judged ? mb < 100 : null);
        if (run.judged) {
          rows.push({
            figure: 'client before the restore (node + SDK, logged in): RSS',
            value: `${ready.memory.rss.toFixed(0)} MB`,
            target: '(info)',
            met: null,
          });
        }
        for (const [label, m] of [
          [`client after restore of ${n} contacts${run.label}`, after.memory],
          [`client after an incremental sync${run.label}`, synced.memory],
        ] as const) {
          rows.push({ figure: `${label}: RSS`, value: `${m.rss.toFixed(0)} MB`, target, met: met(m.rss) });
          rows.push({ figure: '  ... heap used', value: `${m.heap.toFixed(0)} MB`, target, met: met(m.heap) });
        }
        rows.push({
          figure: `  ... peak RSS of the client process${run.label}`,
          value: `${synced.memory.peak.toFixed(0)} MB`,
          target: '(info)',
          met: null,
        });
      }
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log();
  console.log(table(rows));
  const missed = rows.filter((r) => r.met === false).length;
  console.log(missed === 0 ? '\nall targets met' : `\n${missed} target(s) not met`);
  if (missed > 0) process.exitCode = 1;
}

await main();
