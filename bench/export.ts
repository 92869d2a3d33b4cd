/**
 * bench/export: import and export of a large account through the command
 * line, each step as its own process (from the built code: `npm run build`
 * first; `npm run bench:export` does both), on SQLite.
 *
 * 1. `holdfast import` of a 50,000-card .vcf and a 20,000-event .ics;
 * 2. photos uploaded over the API (HOLDFAST_BENCH_PHOTOS, default 100, of
 *    HOLDFAST_BENCH_PHOTO_KB each, default 256);
 * 3. `holdfast export` of the whole account, then `verify-export`;
 * 4. `holdfast import` of the bundle into a second, empty account;
 * 5. `holdfast import` of an SMS Backup & Restore file of 100,000 messages,
 *    1,000 of them MMS with a 64 KB picture, into a third account (target
 *    < 20 s, peak RSS < 250 MB; HOLDFAST_BENCH_SMS, HOLDFAST_BENCH_SMS_PICTURES
 *    and HOLDFAST_BENCH_SMS_PICTURE_KB change the sizes);
 * 6. rclone copying 1,000 photos to a local directory and to the WebDAV file
 *    area of a running server (bench/rclone-upload.ts; target >= 80% of the
 *    local copy's speed; HOLDFAST_BENCH_RCLONE_PHOTOS changes the count, 0
 *    leaves it out).
 *
 * Every step runs with the V8 flags of the `holdfast` command's #! line
 * (HOLDFAST_BENCH_SERVER_NODE_ARGS replaces them, as in bench/support.ts).
 * Prints items/s and the peak RSS of each step. Targets: export >= 20,000
 * items/s with RSS < 200 MB, photo bytes at disk speed; verify-export at the
 * same rate; the 50,000-card import in < 10 s. Disk speed is measured in the
 * same run: a plain streamed copy of every stored photo into one file. The
 * export's items/s is also given without that copy's time, which is what the
 * photos cost at best (HOLDFAST_BENCH_PHOTOS=1000 HOLDFAST_BENCH_PHOTO_KB=1024
 * for the 1 GB account).
 * HOLDFAST_BENCH_CONTACTS / HOLDFAST_BENCH_EVENTS change the sizes;
 * HOLDFAST_BENCH_EXPORT_STEPS runs only the steps named (comma-separated:
 * import, photos, export, bundle, sms, rclone; `sms` alone needs none of the
 * others); HOLDFAST_BENCH_KEEP=1 keeps the data directory for profiling a step.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rcloneUpload } from './rclone-upload.js';
import { smsBackupXml } from './sms-backup-data.js';
import { bin, contactCard, serverNodeArgs } from './support.js';

const CONTACTS = Number(process.env.HOLDFAST_BENCH_CONTACTS ?? 50_000);
const EVENTS = Number(process.env.HOLDFAST_BENCH_EVENTS ?? 20_000);
const PHOTOS = Number(process.env.HOLDFAST_BENCH_PHOTOS ?? 100);
const PHOTO_KB = Number(process.env.HOLDFAST_BENCH_PHOTO_KB ?? 256);
const SMS = Number(process.env.HOLDFAST_BENCH_SMS ?? 100_000);
const SMS_PICTURES = Number(process.env.HOLDFAST_BENCH_SMS_PICTURES ?? 1_000);
const SMS_PICTURE_KB = Number(process.env.HOLDFAST_BENCH_SMS_PICTURE_KB ?? 64);
const STEPS = process.env.HOLDFAST_BENCH_EXPORT_STEPS?.split(',').map((s) => s.trim());
const runs = (step: 'import' | 'photos' | 'export' | 'bundle' | 'sms' | 'rclone') => !STEPS || STEPS.includes(step);

const ZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:STANDARD',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
];

function event(i: number): string[] {
  const day = String((i % 28) + 1).padStart(2, '0');
  return [
    'BEGIN:VEVENT',
    `UID:bench-event-${i}`,
    'DTSTAMP:20240101T000000Z',
    `DTSTART;TZID=Europe/Berlin:202405${day}T090000`,
    `DTEND;TZID=Europe/Berlin:202405${day}T100000`,
    `SUMMARY:Meeting ${i}`,
    ...(i % 3 === 0 ? ['RRULE:FREQ=WEEKLY;COUNT=10'] : []),
    ...(i % 5 === 0
      ? [
          'ATTENDEE;CN=Ada;PARTSTAT=ACCEPTED:mailto:ada@example.com',
          'BEGIN:VALARM',
          'ACTION:DISPLAY',
          'DESCRIPTION:Soon',
          'TRIGGER:-PT15M',
          'END:VALARM',
        ]
      : []),
    'END:VEVENT',
  ];
}

async function writeLines(path: string, chunks: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  for (const chunk of chunks) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

/** Runs `holdfast ARGS`, sampling its peak RSS and CPU time; resolves with stdout, seconds, MB and CPU seconds. */
async function holdfast(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ out: string; seconds: number; rss: number; cpu: number }> {
  const started = performance.now();
  // Spawning node with the script skips its #! line: the command's own V8 flags are passed as it would run.
  const child = spawn(process.execPath, [...serverNodeArgs, bin, ...args], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdin.end(stdin);
  const peak = sampleRss(child);
  const [code] = (await once(child, 'close')) as [number];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0 && !(args[0] === 'import' && code === 1))
    throw new Error(`holdfast ${args.join(' ')} exited ${code}: ${err}`);
  return { out, seconds, ...(await peak) };
}

/** The child's peak resident set (VmHWM) and CPU seconds (user + system, as of the last look), read until it exits. */
async function sampleRss(child: ChildProcess): Promise<{ rss: number; cpu: number }> {
  let peak = 0;
  let cpu = 0;
  while (child.exitCode === null) {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
      // Fields 14 and 15 of /proc/PID/stat (after the command name in brackets), in clock ticks of 1/100 s.
      const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      cpu = (Number(fields[11]) + Number(fields[12])) / 100 || cpu;
    } catch {
      break; // exited between checks
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rss: peak, cpu };
}

async function uploadPhotos(env: Record<string, string>): Promise<void> {
  if (PHOTOS === 0) return;
  const child = spawn(process.execPath, [...serverNodeArgs, bin, 'serve', '--port', '0'], {
    env: { ...process.env, ...env },
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      log += d;
      const match = /listening on (http:\/\/\S+)/.exec(log);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
  try {
    const call = async (method: string, path: string, body: unknown, token?: string, raw = false) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'content-type': raw ? 'application/octet-stream' : 'application/json',
        },
        body: raw ? (body as Buffer) : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, string>>;
    };
    const { token } = await call('POST', '/v1/auth/login', { username: 'bench', password: 'bench-password-1' });
    const { id } = await call('POST', '/v1/collections', { type: 'photos', name: 'Camera' }, token);
    for (let i = 0; i < PHOTOS; i++) {
      const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(PHOTO_KB * 1024 - 4)]);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await call('PUT', `/v1/blobs/${sha256}`, bytes, token, true);
      const change = {
        clientChangeId: `p${i}`,
        collectionId: id,
        itemId: `photo-${i}`,
        op: 'put',
        baseRevision: null,
        content: { filename: `IMG_${i}.jpg` },
        blob: { sha256, contentType: 'image/jpeg' },
      };
      await call('POST', '/v1/push', { changes: [change] }, token);
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

/** Streams every file under `from` into one file at `to`: the least any export of them costs. */
async function copyPhotos(from: string, to: string): Promise<{ bytes: number; seconds: number }> {
  const started = performance.now();
  const out = createWriteStream(to, { highWaterMark: 1 << 20 });
  let bytes = 0;
  for (const entry of await readdir(from, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    for await (const chunk of createReadStream(join(entry.parentPath, entry.name))) {
      bytes += (chunk as Buffer).length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'close');
  const seconds = (performance.now() - started) / 1000;
  await rm(to);
  return { bytes, seconds };
}

const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-export-'));
try {
  const env = { HOLDFAST_DATA_DIR: join(dir, 'data'), HOLDFAST_LOG_LEVEL: 'warn' };
  console.log(
    `bench/export on node ${process.version}: ${CONTACTS} contacts, ${EVENTS} events, ${PHOTOS} photos of ${PHOTO_KB} KB`,
  );
  for (const name of ['bench', 'restored', 'sms']) await holdfast(['user', 'add', name], env, 'bench-password-1\n');
  /** One result line: wall time of the whole process, and the step's own time (without process start-up) where it reports it. */
  const row = (label: string, items: number, r: { out: string; seconds: number; rss: number }, target = '') => {
    const own = /"seconds":([0-9.]+)/.exec(r.out)?.[1];
    const inside = own
      ? `; ${(items / Number(own)).toFixed(0).padStart(6)} items/s in the step itself (${Number(own).toFixed(2)} s)`
      : '';
    console.log(
      `${label.padEnd(30)} ${String(items).padStart(6)} items: ${r.seconds.toFixed(2).padStart(5)} s = ${(items / r.seconds).toFixed(0).padStart(6)} items/s with start-up${inside}; peak RSS ${r.rss.toFixed(0)} MB ${target}`,
    );
    return own ? Number(own) : r.seconds;
  };
  if (runs('import')) {
    await writeLines(
      join(dir, 'contacts.vcf'),
      (function* () {
        for (let i = 0; i < CONTACTS; i++) yield contactCard(i);
      })(),
    );
    await writeLines(
      join(dir, 'events.ics'),
      (function* () {
        yield ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Bench//EN', ...ZONE, ''].join('\r\n');
        for (let i = 0; i < EVENTS; i++) yield `${event(i).join('\r\n')}\r\n`;
        yield 'END:VCALENDAR\r\n';
      })(),
    );
    const cards = await holdfast(['import', '--user', 'bench', join(dir, 'contacts.vcf'), '--json'], env);
    row('import .vcf', CONTACTS, cards, `(target < 10 s: ${cards.seconds < 10 ? 'met' : 'MISSED'})`);
    const events = await holdfast(['import', '--user', 'bench', join(dir, 'events.ics'), '--json'], env);
    row('import .ics', EVENTS, events);
  }
  if (runs('photos')) await uploadPhotos(env);
  if (runs('export')) {
    const copy = await copyPhotos(join(env.HOLDFAST_DATA_DIR, 'blobs'), join(dir, 'photos.copy'));
    console.log(
      `disk baseline: copy of the photos ${(copy.bytes / 1024 / 1024).toFixed(0)} MB in ${copy.seconds.toFixed(2)} s = ${(copy.bytes / 1024 / 1024 / copy.seconds).toFixed(0)} MB/s`,
    );

    const zip = join(dir, 'bench.zip');
    const items = CONTACTS + EVENTS + PHOTOS;
    const exported = await holdfast(['export', '--user', 'bench', '--out', zip, '--json'], env);
    const own = row('export', items, exported);
    const withoutCopy = items / Math.max(own - copy.seconds, 1e-3);
    console.log(
      `  targets: >= 20,000 items/s ${items / own >= 20_000 ? 'met' : 'MISSED'} (step itself; ${withoutCopy.toFixed(0)} items/s once the photo copy's ${copy.seconds.toFixed(2)} s is taken off), RSS < 200 MB ${exported.rss < 200 ? 'met' : 'MISSED'}; bundle ${((await stat(zip)).size / 1024 / 1024).toFixed(1)} MB`,
    );
    const verified = await holdfast(['verify-export', zip, '--user', 'bench'], env);
    row(
      'verify-export against the db',
      items,
      verified,
      `(target >= 20,000 items/s with start-up: ${items / verified.seconds >= 20_000 ? 'met' : 'MISSED'})`,
    );
    if (runs('bundle')) {
      row('import of the bundle', items, await holdfast(['import', '--user', 'restored', zip, '--json'], env));
      const again = await holdfast(['import', '--user', 'restored', zip, '--json'], env);
      const counts = JSON.parse(again.out).counts;
      row(`re-import (${counts.skipped} skipped)`, items, again);
    }
  }
  if (runs('sms')) {
    await writeLines(join(dir, 'sms.xml'), smsBackupXml(SMS, SMS_PICTURES, SMS_PICTURE_KB));
    const sms = await holdfast(['import', '--user', 'sms', join(dir, 'sms.xml'), '--json'], env);
    const smsCounts = JSON.parse(sms.out).counts;
    row(
      `import SMS backup (${SMS_PICTURES} pictures)`,
      SMS,
      sms,
      `(${smsCounts.created} created; ${sms.cpu.toFixed(2)} s CPU; targets < 20 s ${sms.seconds < 20 ? 'met' : 'MISSED'}, RSS < 250 MB ${sms.rss < 250 ? 'met' : 'MISSED'}; file ${((await stat(join(dir, 'sms.xml'))).size / 1024 / 1024).toFixed(0)} MB)`,
    );
  }
  if (runs('rclone')) await rcloneUpload(dir, env, 'sms');
} finally {
  // HOLDFAST_BENCH_KEEP=1 leaves the data for profiling one step (e.g. node --cpu-prof packages/cli/bin/holdfast.js export …).
  if (process.env.HOLDFAST_BENCH_KEEP) console.log(`data kept in ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
