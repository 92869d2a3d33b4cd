/**
 * bench/backup: what the backup engine costs and how much it can lose.
 *
 *   npx tsx --conditions=source bench/backup.ts
 *
 * Loads HOLDFAST_BENCH_ITEMS notes (default 20,000, about 1 KiB each) and
 * HOLDFAST_BENCH_PHOTOS photos (default 200 of 100 KiB, incompressible) into an
 * in-process server on SQLite, then measures on a directory target:
 *   1. the initial backup (journal + snapshot), time and bytes added;
 *   2. an incremental backup after changing 1% of the items and adding 20 photos
 *      (and what it added per kind of object: the 20 photos alone are 2 MB),
 *      twice: as a running server ships it (journal only, restorable from
 *      then on) and as `holdfast backup run` (connect, journal, snapshot);
 *   3. a full restore into a new data directory;
 *   4. a full verify (restore drill, every blob read and hashed);
 *   5. the RPO under steady push load with continuous shipping: the time from
 *      a write's acknowledgement until it is on the target.
 * When `restic` is on PATH, the same data is backed up, restored and checked
 * with restic in the same run, for comparison: every item as a file (its
 * content as JSON) and every photo as a file, so both tools store, restore
 * and verify the same bytes. HOLDFAST_BENCH_RPO_SECONDS (default 10, 0 skips
 * it) is how long step 5 runs. HOLDFAST_BENCH_PROFILE_DIR=DIR writes a CPU
 * profile of the restore and of the verify there (restore.cpuprofile,
 * verify.cpuprofile; open them in Chrome DevTools).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, initRepository, openRepository } from '@holdfast/backup';
import {
  backupNow,
  buildApp,
  closeContext,
  createContext,
  createUser,
  loadConfig,
  restoreToNewDeployment,
  runDrill,
  startBackupService,
} from '@holdfast/server';

const ITEMS = Number(process.env.HOLDFAST_BENCH_ITEMS ?? 20_000);
const PHOTOS = Number(process.env.HOLDFAST_BENCH_PHOTOS ?? 200);
const RPO_SECONDS = Number(process.env.HOLDFAST_BENCH_RPO_SECONDS ?? 10);
const PROFILE_DIR = process.env.HOLDFAST_BENCH_PROFILE_DIR;
const PASSPHRASE = 'bench passphrase';

async function du(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Bytes under each top-level folder of a repository (journal, data, blobs, ...). */
async function duByKind(path: string): Promise<Map<string, number>> {
  const kinds = new Map<string, number>();
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const size = entry.isDirectory() ? await du(join(path, entry.name)) : (await stat(join(path, entry.name))).size;
    kinds.set(entry.name, size);
  }
  return kinds;
}

/** What was added between two {@link duByKind} listings, e.g. "journal 0.9 MB, data 0.8 MB". */
function added(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([kind, size]) => [kind, size - (before.get(kind) ?? 0)] as const)
    .filter(([, size]) => size > 0)
    .map(([kind, size]) => `${kind} ${mb(size)}`)
    .join(', ');
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

/** {@link timed}, with a CPU profile of `work` written to HOLDFAST_BENCH_PROFILE_DIR/`name`.cpuprofile if set. */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<[T, number]> {
  if (!PROFILE_DIR) return timed(work);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = await timed(work);
  const { profile } = await session.post('Profiler.stop');
  await mkdir(PROFILE_DIR, { recursive: true });
  await writeFile(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
  return result;
}

async function main() {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-bench-backup-'));
  const dataDir = join(base, 'data');
  const targetDir = join(base, 'target');
  // The same items and photos as plain files, what restic backs up.
  const filesDir = join(base, 'files');
  await mkdir(targetDir);
  await mkdir(join(filesDir, 'notes'), { recursive: true });
  await mkdir(join(filesDir, 'photos'));
  await initRepository(new DirectoryTarget(targetDir), { passphrase: PASSPHRASE });
  const config = loadConfig({
    flags: { data: dataDir, 'log-level': 'silent', 'backup-targets': targetDir, 'backup-passphrase': PASSPHRASE },
    env: {},
  });
  const ctx = await createContext(config);
  const app = await buildApp(ctx);
  await createUser(ctx, 'bench', 'bench-password-1');
  const login = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { username: 'bench', password: 'bench-password-1', deviceName: 'bench' },
  });
  const auth = { authorization: `Bearer ${(login.json() as { token: string }).token}` };
  const collection = async (type: string) =>
    (
      (
        await app.inject({ method: 'POST', url: '/v1/collections', headers: auth, payload: { type, name: type } })
      ).json() as { id: string }
    ).id;
  const notes = await collection('notes');
  const photos = await collection('photos');
  const heads = new Map<string, number>();
  /** Pushes changes; every one must apply (updates name the head they replace). Returns the highest revision. */
  const push = async (changes: ({ itemId: string } & Record<string, unknown>)[]): Promise<number> => {
    const response = await app.inject({ method: 'POST', url: '/v1/push', headers: auth, payload: { changes } });
    if (response.statusCode !== 200) throw new Error(response.body);
    const results = (response.json() as { results: { status: string; revision?: number }[] }).results;
    let highest = 0;
    for (const [i, result] of results.entries()) {
      if (result.status !== 'applied' || result.revision === undefined)
        throw new Error(`change ${i}: ${result.status}`);
      heads.set((changes[i] as { itemId: string }).itemId, result.revision);
      highest = Math.max(highest, result.revision);
    }
    for (const change of changes) {
      if (change.collectionId === notes)
        await writeFile(join(filesDir, 'notes', `${change.itemId}.json`), JSON.stringify(change.content));
    }
    return highest;
  };
  const note = (i: number, version: number) => ({
    clientChangeId: randomUUID(),
    collectionId: notes,
    itemId: `note-${i}`,
    op: 'put',
    baseRevision: heads.get(`note-${i}`) ?? null,
    content: {
      title: `Note ${i} v${version}`,
      body: `${randomBytes(300).toString('base64')} ${'lorem ipsum '.repeat(40)}`,
    },
  });
  const addPhoto = async (name: string) => {
    const bytes = randomBytes(100 * 1024);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const upload = await app.inject({
      method: 'PUT',
      url: `/v1/blobs/${sha}`,
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    if (upload.statusCode >= 300) throw new Error(upload.body);
    await writeFile(join(filesDir, 'photos', `${name}.jpg`), bytes);
    await push([
      {
        clientChangeId: randomUUID(),
        collectionId: photos,
        itemId: name,
        op: 'put',
        baseRevision: null,
        content: { filename: `${name}.jpg` },
        blob: { sha256: sha, contentType: 'application/octet-stream' },
      },
    ]);
  };

  process.stdout.write(`loading ${ITEMS} notes and ${PHOTOS} photos...\n`);
  for (let i = 0; i < ITEMS; i += 500)
    await push(Array.from({ length: Math.min(500, ITEMS - i) }, (_, k) => note(i + k, 1)));
  for (let i = 0; i < PHOTOS; i++) await addPhoto(`photo-${i}`);
  const primary = await du(dataDir);
  const restic = spawnSync('restic', ['version']).status === 0;
  const rows: string[][] = [['step', 'holdfast', restic ? 'restic' : '']];
  const resticRepo = join(base, 'restic');
  const resticEnv = { ...process.env, RESTIC_PASSWORD: PASSPHRASE, RESTIC_REPOSITORY: resticRepo };
  /** Runs restic and returns how long it took; restic's own caches are kept out of the bench directory. */
  const runRestic = (args: string[]) => {
    const start = performance.now();
    execFileSync('restic', [...args, '--cache-dir', join(base, 'restic-cache')], { env: resticEnv, stdio: 'ignore' });
    return performance.now() - start;
  };
  if (restic) execFileSync('restic', ['init', '-q'], { env: resticEnv });

  const [, initialMs] = await timed(() => backupNow(config, ctx.db));
  const afterInitial = await du(targetDir);
  const kindsInitial = await duByKind(targetDir);
  const resticInitialMs = restic ? runRestic(['backup', '-q', filesDir]) : 0;
  const resticInitial = restic ? await du(resticRepo) : 0;

  const continuous = startBackupService(
    { config, db: ctx.db, blobs: ctx.blobs, log: ctx.log, now: Date.now },
    { timers: false },
  );
  await continuous.runOnce();
  const changed = Math.max(1, Math.floor(ITEMS / 100));
  for (let i = 0; i < changed; i += 500) {
    await push(
      Array.from({ length: Math.min(500, changed - i) }, (_, k) => note(Math.floor(((i + k) * ITEMS) / changed), 2)),
    );
  }
  for (let i = 0; i < 20; i++) await addPhoto(`new-photo-${i}`);
  // What a running server does after these commits: ship them to the journal (restorable from then on).
  const [, journalMs] = await timed(() => continuous.runOnce());
  await continuous.stop();
  const afterJournal = await du(targetDir);
  // What `holdfast backup run` does besides: connect, then a compacted snapshot (hourly in a running server).
  const [, incrementalMs] = await timed(() => backupNow(config, ctx.db));
  const afterIncremental = await du(targetDir);
  const incrementalParts = added(kindsInitial, await duByKind(targetDir));
  const resticIncrementalMs = restic ? runRestic(['backup', '-q', filesDir]) : 0;
  const resticIncremental = restic ? (await du(resticRepo)) - resticInitial : 0;

  const repo = await openRepository(new DirectoryTarget(targetDir), { passphrase: PASSPHRASE });
  const [, restoreMs] = await profiled('restore', () =>
    restoreToNewDeployment(repo, { dataDir: join(base, 'restored') }),
  );
  const [drill, verifyMs] = await profiled('verify', () => runDrill(repo));
  if (!drill.verification.record.ok) throw new Error(`verify failed: ${drill.verification.record.errors.join('; ')}`);
  const resticRestoreMs = restic ? runRestic(['restore', 'latest', '-q', '--target', join(base, 'restic-restore')]) : 0;
  const resticCheckMs = restic ? runRestic(['check', '-q', '--read-data']) : 0;

  const vs = (holdfast: number, other: number) => (restic ? ` (${(holdfast / other).toFixed(2)}x restic)` : '');
  rows.push([
    'initial backup',
    `${secs(initialMs)}, +${mb(afterInitial)}`,
    restic ? `${secs(resticInitialMs)}, +${mb(resticInitial)}` : '',
  ]);
  rows.push([
    'incremental, journal (running server)',
    `${secs(journalMs)}, +${mb(afterJournal - afterInitial)}`,
    restic ? '(no continuous mode)' : '',
  ]);
  rows.push([
    'incremental, backup run (+ snapshot)',
    `${secs(incrementalMs)}, +${mb(afterIncremental - afterInitial)}`,
    restic ? `${secs(resticIncrementalMs)}, +${mb(resticIncremental)}` : '',
  ]);
  rows.push([
    'full restore',
    `${secs(restoreMs)}${vs(restoreMs, resticRestoreMs)}`,
    restic ? secs(resticRestoreMs) : '',
  ]);
  rows.push([
    'full verify (drill / check --read-data)',
    `${secs(verifyMs)}${vs(verifyMs, resticCheckMs)}`,
    restic ? secs(resticCheckMs) : '',
  ]);
  if (!restic) process.stdout.write('restic is not on PATH: Holdfast figures only (apt-get install restic)\n');

  // RPO: continuous shipping at the configured interval while a client pushes steadily.
  const service = startBackupService({
    config,
    db: ctx.db,
    blobs: ctx.blobs,
    log: ctx.log,
    now: Date.now,
    onCommit: (listener) => ctx.notifier.subscribeAll(listener),
  });
  const waits: number[] = [];
  const pending: { seq: number; at: number }[] = [];
  let stop = false;
  const watcher = (async () => {
    while (!stop || pending.length > 0) {
      const shipped = service.health()[0]?.shippedSeq ?? -1;
      while (pending.length > 0 && (pending[0] as { seq: number }).seq <= shipped) {
        waits.push(Date.now() - (pending.shift() as { at: number }).at);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const until = Date.now() + RPO_SECONDS * 1000;
  for (let round = 0; Date.now() < until; round++) {
    const seq = await push(Array.from({ length: 20 }, (_, k) => note((round * 20 + k) % ITEMS, 10 + round)));
    pending.push({ seq, at: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stop = true;
  await watcher;
  await service.stop();
  waits.sort((a, b) => a - b);
  const pct = (p: number) => waits[Math.min(waits.length - 1, Math.floor((p / 100) * waits.length))] ?? 0;

  process.stdout.write(
    `\nprimary data directory: ${mb(primary)} (${ITEMS} notes, ${PHOTOS} photos)${restic ? `; as files for restic: ${mb(await du(filesDir))}` : ''}\n\n`,
  );
  for (const row of rows)
    process.stdout.write(`${(row[0] as string).padEnd(40)} ${(row[1] ?? '').padEnd(34)} ${row[2] ?? ''}\n`);
  process.stdout.write(`\nincremental backup added by kind: ${incrementalParts}\n`);
  if (RPO_SECONDS > 0)
    process.stdout.write(
      `\nRPO under steady push load (${waits.length} acknowledged batches of 20, ship interval ${config.backupShipIntervalMs} ms):\n` +
        `  time from acknowledgement to on-target: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${waits.at(-1) ?? 0} ms\n`,
    );
  await app.close();
  await closeContext(ctx);
  await rm(base, { recursive: true, force: true });
}

await main();
