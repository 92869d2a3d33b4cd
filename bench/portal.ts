/**
 * bench/portal: what the web portal's data endpoints cost on a large account,
 * in one process with the server listening on 127.0.0.1 (SQLite, temporary
 * data directory; HOLDFAST_BENCH_POSTGRES=1 runs it on an embedded
 * PostgreSQL too).
 *
 * 1. 10,000 contacts pushed (HOLDFAST_BENCH_CONTACTS), 1,000 a push;
 * 2. contact search: the first page of the list, names, word-order names,
 *    e-mail parts, phone numbers written with other punctuation, and a miss,
 *    each query HOLDFAST_BENCH_ROUNDS times (default 20): the server's own
 *    time per request (Fastify's elapsed time, p50 and p99) and the wall time
 *    on loopback;
 * 3. thumbnails of HOLDFAST_BENCH_PHOTOS photos (default 20, 3000×2000
 *    JPEGs): the first request of each (made by sharp) and a second one
 *    (read from the cache), p50 and p99, server time.
 *
 * Targets: search < 100 ms server time at 10,000 contacts; a cached
 * thumbnail a few milliseconds. Figures, not pass/fail.
 *
 * Run: `npm run bench:portal` (builds first).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeContext, createUser, loadConfig } from '@holdfast/server';
import sharp from 'sharp';
import { contactCard, startPostgres, startTimedServer } from './support.js';

const CONTACTS = Number(process.env.HOLDFAST_BENCH_CONTACTS ?? 10_000);
const ROUNDS = Number(process.env.HOLDFAST_BENCH_ROUNDS ?? 20);
const PHOTOS = Number(process.env.HOLDFAST_BENCH_PHOTOS ?? 20);

const QUERIES: [string, string][] = [
  ['list, first page', ''],
  ['first name', 'grace'],
  ['full name, other order', 'hopper grace 0001'],
  ['e-mail part', 'ada.0000042@'],
  ['phone, other punctuation', '(555) 000-4242'],
  ['phone, national form', '020 7946 4242'],
  ['no match', 'zzzz'],
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

async function runOn(engine: 'sqlite' | 'postgres', database: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-bench-portal-'));
  const config = loadConfig({
    flags: { data: dataDir, database: database || join(dataDir, 'holdfast.db'), 'log-level': 'warn' },
    env: {},
  });
  // The server's own time per request, by route.
  const { ctx, app, base, take } = await startTimedServer(config);
  try {
    await createUser(ctx, 'bench', 'bench-password-1');
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: 'bench-password-1', deviceName: 'bench' }),
    });
    const { token } = (await login.json()) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    const json = { ...auth, 'content-type': 'application/json' };
    await fetch(`${base}/v1/collections`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'contacts', type: 'contacts', name: 'Contacts' }),
    });

    let started = performance.now();
    for (let i = 0; i < CONTACTS; i += 1000) {
      const changes = [];
      for (let j = i; j < Math.min(CONTACTS, i + 1000); j++) {
        changes.push({
          clientChangeId: randomUUID(),
          collectionId: 'contacts',
          itemId: `c${j}`,
          op: 'put',
          baseRevision: null,
          content: contactCard(j),
        });
      }
      const response = await fetch(`${base}/v1/push`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ changes }),
      });
      if (!response.ok) throw new Error(`push failed: ${response.status} ${await response.text()}`);
    }
    const pushSeconds = (performance.now() - started) / 1000;
    console.log(
      `[${engine}] ${CONTACTS} contacts pushed in ${pushSeconds.toFixed(1)} s (index kept in the same transactions)`,
    );
    take('/v1/push');

    // The first search also checks the index version once; time it apart.
    await fetch(`${base}/v1/contacts/search?q=`, { headers: auth });
    take('/v1/contacts/search');
    console.log(`[${engine}] search, ${ROUNDS} rounds each: server p50 / p99, loopback wall p50, hits`);
    for (const [label, q] of QUERIES) {
      const wall: number[] = [];
      let hits = 0;
      for (let round = 0; round < ROUNDS; round++) {
        started = performance.now();
        const response = await fetch(`${base}/v1/contacts/search?q=${encodeURIComponent(q)}&limit=50`, {
          headers: auth,
        });
        const body = (await response.json()) as { contacts: unknown[] };
        wall.push(performance.now() - started);
        hits = body.contacts.length;
      }
      const server = take('/v1/contacts/search');
      console.log(
        `  ${label.padEnd(26)} ${ms(percentile(server, 50)).padStart(9)} / ${ms(percentile(server, 99)).padStart(9)}   ${ms(percentile(wall, 50)).padStart(9)}   ${hits}`,
      );
    }

    const shas: string[] = [];
    for (let i = 0; i < PHOTOS; i++) {
      const photo = await sharp({
        create: { width: 3000, height: 2000, channels: 3, background: { r: (i * 37) % 256, g: 120, b: 200 } },
      })
        .jpeg({ quality: 85 })
        .toBuffer();
      const sha256 = createHash('sha256').update(photo).digest('hex');
      const response = await fetch(`${base}/v1/blobs/${sha256}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'image/jpeg' },
        body: photo,
      });
      if (!response.ok) throw new Error(`upload failed: ${response.status}`);
      shas.push(sha256);
    }
    take('/v1/blobs/:sha256');
    for (const pass of ['first (made)', 'again (cached)']) {
      for (const sha256 of shas) {
        const response = await fetch(`${base}/v1/blobs/${sha256}/thumbnail?size=256`, { headers: auth });
        if (!response.ok) throw new Error(`thumbnail failed: ${response.status}`);
        await response.arrayBuffer();
      }
      const server = take('/v1/blobs/:sha256/thumbnail');
      console.log(
        `[${engine}] thumbnail 256 of a 3000×2000 JPEG, ${pass}: p50 ${ms(percentile(server, 50))}, p99 ${ms(percentile(server, 99))} (${PHOTOS} photos)`,
      );
    }
  } finally {
    await app.close();
    await closeContext(ctx);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await runOn('sqlite', '');
if (process.env.HOLDFAST_BENCH_POSTGRES === '1') {
  const pg = await startPostgres();
  try {
    await runOn('postgres', pg.url);
  } finally {
    await pg.stop();
  }
}
