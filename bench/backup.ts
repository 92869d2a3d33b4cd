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
 * The same data directory (SQLite file + blobs) is backed up with restic for
 * comparison, if restic is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
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

async function main() {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-bench-backup-'));
  const dataDir = join(base, 'data');
  const targetDir = join(base, 'target');
  await mkdir(targetDir);
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
  const rows: string[][] = [['step', 'holdfast', 'restic']];

  const [, initialMs] = await timed(() => backupNow(config, ctx.db));
  const afterInitial = await du(targetDir);
  const kindsInitial = await duByKind(targetDir);

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

  const repo = await openRepository(new DirectoryTarget(targetDir), { passphrase: PASSPHRASE });
  const [, restoreMs] = await timed(() => restoreToNewDeployment(repo, { dataDir: join(base, 'restored') }));
  const [drill, verifyMs] = await timed(() => runDrill(repo));
  if (!drill.verification.record.ok) throw new Error(`verify failed: ${drill.verification.record.errors.join('; ')}`);

  rows.push(['initial backup', `${secs(initialMs)}, +${mb(afterInitial)}`]);
  rows.push(['incremental, journal (running server)', `${secs(journalMs)}, +${mb(afterJournal - afterInitial)}`]);
  rows.push([
    'incremental, backup run (+ snapshot)',
    `${secs(incrementalMs)}, +${mb(afterIncremental - afterInitial)}`,
  ]);
  rows.push(['full restore', secs(restoreMs)]);
  rows.push(['full verify (drill)', secs(verifyMs)]);

  const restic = spawnSync('which', ['restic']).status === 0;
  if (restic) {
    const repoDir = join(base, 'restic');
    const env = { ...process.env, RESTIC_PASSWORD: PASSPHRASE, RESTIC_REPOSITORY: repoDir };
    execFileSync('restic', ['init', '-q'], { env });
    // A fresh copy of the data directory as it was at the initial backup is not available here, so restic backs up
    // the current state first and then again after the same kind of change.
    const run = (args: string[]) => {
      const start = performance.now();
      execFileSync('restic', args, { env, stdio: 'ignore' });
      return performance.now() - start;
    };
    const r1 = run(['backup', '-q', dataDir]);
    const s1 = await du(repoDir);
    for (let i = 0; i < changed; i += 500) {
      await push(
        Array.from({ length: Math.min(500, changed - i) }, (_, k) => note(Math.floor(((i + k) * ITEMS) / changed), 3)),
      );
    }
    for (let i = 0; i < 20; i++) await addPhoto(`restic-photo-${i}`);
    const r2 = run(['backup', '-q', dataDir]);
    const s2 = await du(repoDir);
    const r3 = run(['restore', 'latest', '-q', '--target', join(base, 'restic-restore')]);
    const r4 = run(['check', '-q', '--read-data']);
    (rows[1] as string[]).push(`${secs(r1)}, +${mb(s1)}`);
    (rows[2] as string[]).push('(no continuous mode)');
    (rows[3] as string[]).push(`${secs(r2)}, +${mb(s2 - s1)}`);
    (rows[4] as string[]).push(secs(r3));
    (rows[5] as string[]).push(secs(r4));
  } else {
    process.stdout.write('restic is not installed; for the comparison install it: apt-get install restic\n');
  }

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
  const until = Date.now() + 10_000;
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

  process.stdout.write(`\nprimary data directory: ${mb(primary)} (${ITEMS} notes, ${PHOTOS} photos)\n\n`);
  for (const row of rows)
    process.stdout.write(`${(row[0] as string).padEnd(38)} ${(row[1] ?? '').padEnd(22)} ${row[2] ?? ''}\n`);
  process.stdout.write(`\nincremental backup added by kind: ${incrementalParts}\n`);
  process.stdout.write(
    `\nRPO under steady push load (${waits.length} acknowledged batches of 20, ship interval ${config.backupShipIntervalMs} ms):\n` +
      `  time from acknowledgement to on-target: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${waits.at(-1) ?? 0} ms\n`,
  );
  await app.close();
  await closeContext(ctx);
  await rm(base, { recursive: true, force: true });
}

await main();
