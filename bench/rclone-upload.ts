/**
 * The WebDAV file area against a plain copy: Debian's rclone copies a folder
 * of photos (HOLDFAST_BENCH_RCLONE_PHOTOS, default 1,000, JPEGs of about
 * 200-500 KB with EXIF, each distinct) once into a local directory and once
 * to /dav/files/<user>/Photos/ of a `holdfast serve` (a remote configured
 * from RCLONE_CONFIG_* variables only, with an app password). Target: the
 * upload at >= 80% of the local copy's speed. Beside them, the same copy to
 * rclone's own WebDAV server (`rclone serve webdav` on a local directory):
 * what rclone's WebDAV client reaches against a server that does no more than
 * write files, so the client's own pace is seen apart from Holdfast's.
 * Run from bench/export.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { bin, cpuSeconds, serve } from './support.js';

const PHOTOS = Number(process.env.HOLDFAST_BENCH_RCLONE_PHOTOS ?? 1_000);

/** Runs a program to completion; resolves with its stdout, wall seconds and CPU seconds (user + system). */
async function program(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ out: string; seconds: number; cpu: number }> {
  const started = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`);
  const seconds = (performance.now() - started) / 1000;
  return { out, seconds, cpu: await childrenCpu() };
}

let lastChildrenCpu = 0;
/** CPU seconds of this process's waited-for children since the last call (cutime + cstime of /proc/self/stat). */
async function childrenCpu(): Promise<number> {
  const line = await readFile('/proc/self/stat', 'utf8');
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const total = (Number(fields[13]) + Number(fields[14])) / 100;
  const delta = total - lastChildrenCpu;
  lastChildrenCpu = total;
  return delta;
}

/**
 * `count` distinct JPEGs made from a few noisy camera-sized pictures (noise compresses badly, as photos do):
 * each copy gets its own comment segment after the start marker.
 */
async function makePhotos(dir: string, count: number): Promise<number> {
  await mkdir(dir, { recursive: true });
  const bases: Buffer[] = [];
  for (const [width, height] of [
    [800, 600],
    [960, 720],
    [1024, 768],
    [1152, 864],
  ] as const) {
    const noise = Buffer.alloc(width * height * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (Math.random() * 64 + ((i / 3) % width) / 8) | 0;
    bases.push(
      await sharp(noise, { raw: { width, height, channels: 3 } })
        .withExif({ IFD0: { Make: 'Bench', Model: 'Camera', DateTime: '2024:05:01 12:00:00' } })
        .jpeg({ quality: 92 })
        .toBuffer(),
    );
  }
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const base = bases[i % bases.length] as Buffer;
    const text = Buffer.from(`bench photo ${i}`);
    const comment = Buffer.alloc(4);
    comment.writeUInt16BE(0xfffe, 0);
    comment.writeUInt16BE(text.length + 2, 2);
    const photo = Buffer.concat([base.subarray(0, 2), comment, text, base.subarray(2)]);
    bytes += photo.length;
    await writeFile(join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`), photo);
  }
  return bytes;
}

export async function rcloneUpload(dir: string, env: Record<string, string>, username: string): Promise<void> {
  if (PHOTOS === 0) return;
  const photos = join(dir, 'rclone-photos');
  const bytes = await makePhotos(photos, PHOTOS);
  const mb = bytes / 1024 / 1024;
  const created = await program(process.execPath, [bin, 'app-password', 'add', username, '--label', 'rclone'], env);
  const password = /shown once: (\S+)/.exec(created.out)?.[1];
  if (!password) throw new Error(`no app password in: ${created.out}`);
  const obscured = (await program('rclone', ['obscure', password])).out.trim();
  await childrenCpu();

  const local = await program('rclone', ['copy', photos, join(dir, 'rclone-local')], { RCLONE_CONFIG: '/dev/null' });
  const plain = await copyToRcloneServer(photos, join(dir, 'rclone-served'));
  const server = await serve(env);
  try {
    const before = await cpuSeconds(server.child.pid as number);
    const remote = {
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_HF_TYPE: 'webdav',
      RCLONE_CONFIG_HF_URL: `${server.url}/dav/files/${username}/`,
      RCLONE_CONFIG_HF_VENDOR: 'other',
      RCLONE_CONFIG_HF_USER: username,
      RCLONE_CONFIG_HF_PASS: obscured,
    };
    const dav = await program('rclone', ['copy', photos, 'hf:Photos'], remote);
    const serverCpu = (await cpuSeconds(server.child.pid as number)) - before;
    const listed = JSON.parse((await program('rclone', ['lsjson', 'hf:Photos'], remote)).out) as unknown[];
    const copied = (await readdir(join(dir, 'rclone-local'))).length;
    const ratio = local.seconds / dav.seconds;
    const line = (label: string, r: { seconds: number; cpu: number }, extra = '') =>
      console.log(
        `${label.padEnd(30)} ${String(PHOTOS).padStart(6)} photos (${mb.toFixed(0)} MB): ${r.seconds.toFixed(2).padStart(5)} s = ${(mb / r.seconds).toFixed(0)} MB/s; rclone CPU ${r.cpu.toFixed(2)} s${extra}`,
      );
    line('rclone copy to a local dir', local, ` (${copied} files)`);
    line('rclone copy to rclone serve', plain, ' (rclone serve webdav on a local dir)');
    line('rclone copy over WebDAV', dav, `, server CPU ${serverCpu.toFixed(2)} s (${listed.length} listed)`);
    console.log(
      `  Holdfast at ${((plain.seconds / dav.seconds) * 100).toFixed(0)}% of the speed of rclone's own WebDAV server on this machine`,
    );
    console.log(
      `  WebDAV upload at ${(ratio * 100).toFixed(0)}% of the local copy's speed (target >= 80%: ${ratio >= 0.8 ? 'met' : 'MISSED'}); average photo ${(bytes / PHOTOS / 1024).toFixed(0)} KB, ${(await stat(join(photos, 'IMG_0000.jpg'))).size} bytes the first`,
    );
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  }
}

/** The copy to `rclone serve webdav` on an empty local directory, started on a free port and stopped after. */
async function copyToRcloneServer(photos: string, root: string): Promise<{ seconds: number; cpu: number }> {
  await mkdir(root, { recursive: true });
  const child = spawn('rclone', ['serve', 'webdav', root, '--addr', '127.0.0.1:0'], {
    env: { ...process.env, RCLONE_CONFIG: '/dev/null' },
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`rclone serve webdav did not start: ${log}`)), 30_000);
      child.stderr.on('data', (d) => {
        log += d;
        const found = /https?:\/\/127\.0\.0\.1:\d+\/?/.exec(log)?.[0];
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      });
      child.once('exit', (code) => reject(new Error(`rclone serve webdav exited ${code}: ${log}`)));
    });
    await childrenCpu();
    const remote = {
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_PLAIN_TYPE: 'webdav',
      RCLONE_CONFIG_PLAIN_URL: url,
      RCLONE_CONFIG_PLAIN_VENDOR: 'other',
    };
    return await program('rclone', ['copy', photos, 'plain:Photos'], remote);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    // The server's CPU is counted when it is reaped: taken here so the next copy's figure holds only its own.
    await childrenCpu();
  }
}
