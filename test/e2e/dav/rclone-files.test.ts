import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, runProgram } from '@holdfast/test-support/processes';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DavServer, startDavServer } from './dav-server.js';

const corpus = fileURLToPath(new URL('../../fixtures/corpus/images/', import.meta.url));

interface Change {
  entity: string;
  op: string;
  itemId: string;
  content?: { filename?: string } | string | null;
  blob?: { sha256: string; contentType: string } | null;
  meta?: { width: number | null; height: number | null; takenAt: string | null } | null;
}

interface Listed {
  Name: string;
  Size: number;
  MimeType: string;
  IsDir: boolean;
}

/** rclone (Debian's) configured entirely from the environment, as a remote named `hf`; its log is on stderr. */
async function rcloneRun(server: DavServer, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const obscured = await runProgram('rclone', ['obscure', server.appPassword]);
  const run = await runProgram('rclone', [...args], {
    env: {
      RCLONE_CONFIG_HF_TYPE: 'webdav',
      RCLONE_CONFIG_HF_URL: `${server.url}/dav/files/${server.username}/`,
      RCLONE_CONFIG_HF_VENDOR: 'other',
      RCLONE_CONFIG_HF_USER: server.username,
      RCLONE_CONFIG_HF_PASS: obscured.stdout.trim(),
      RCLONE_CONFIG: '/dev/null',
    },
  });
  if (run.code !== 0) throw new Error(`rclone ${args.join(' ')} exited with ${run.code}:\n${run.stderr}`);
  return run;
}

async function rclone(server: DavServer, args: string[]): Promise<string> {
  return (await rcloneRun(server, args)).stdout;
}

/** The corpus images, two generated photos and a video larger than any CardDAV/CalDAV body. */
async function photoFolder(dir: string): Promise<Map<string, Buffer>> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(corpus)) await copyFile(join(corpus, name), join(dir, name));
  const generated = sharp({ create: { width: 640, height: 480, channels: 3, background: '#3366aa' } });
  await writeFile(join(dir, 'generated 1.jpg'), await generated.clone().jpeg().toBuffer());
  await writeFile(join(dir, 'généré-2.png'), await generated.clone().png().toBuffer());
  await writeFile(join(dir, 'clip.mp4'), randomBytes(20 * 1024 * 1024));
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dir)) files.set(name, await readFile(join(dir, name)));
  return files;
}

/** rclone against a real `holdfast serve`: copy a folder of photos up, list, copy back byte-identical, delete. */
describe.each(['sqlite', 'postgres'] as const)('rclone over WebDAV files on %s', (engine) => {
  let server: DavServer;
  let work: string;
  let sent: Map<string, Buffer>;

  beforeAll(async () => {
    server = await startDavServer(engine, `rclone-${engine}`);
    work = await mkdtemp(join(tmpdir(), 'holdfast-rclone-'));
    sent = await photoFolder(join(work, 'up'));
    await rclone(server, ['copy', join(work, 'up'), 'hf:Holiday 2024']);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists the uploaded folder and its photos with their sizes and types', async () => {
    const root = JSON.parse(await rclone(server, ['lsjson', 'hf:'])) as Listed[];
    expect(
      root
        .filter((e) => e.IsDir)
        .map((e) => e.Name)
        .sort(),
    ).toEqual(['Holiday 2024', 'Inbox']);
    const listed = JSON.parse(await rclone(server, ['lsjson', 'hf:Holiday 2024'])) as Listed[];
    expect(Object.fromEntries(listed.map((e) => [e.Name, e.Size]))).toEqual(
      Object.fromEntries([...sent].map(([name, bytes]) => [name, bytes.length])),
    );
    expect(listed.find((e) => e.Name === 'photo.png')?.MimeType).toBe('image/png');
  }, 60_000);

  it('copies every file back byte-identical', async () => {
    await rclone(server, ['copy', 'hf:Holiday 2024', join(work, 'down')]);
    const back = await readdir(join(work, 'down'));
    expect(back.sort()).toEqual([...sent.keys()].sort());
    for (const [name, bytes] of sent) expect((await readFile(join(work, 'down', name))).equals(bytes)).toBe(true);
  }, 60_000);

  it('stored photo items through the revision log, with EXIF metadata', async () => {
    const feed = await api(server.url, 'GET', '/v1/changes?limit=1000', { token: server.token });
    const photos = (feed.body.changes as Change[]).filter((c) => c.entity === 'item' && c.blob);
    const byName = new Map(photos.map((c) => [typeof c.content === 'object' ? c.content?.filename : undefined, c]));
    expect([...byName.keys()].sort()).toEqual([...sent.keys()].sort());
    const exif = byName.get('photo-exif.jpg');
    expect(exif?.blob?.contentType).toBe('image/jpeg');
    expect(exif?.meta?.takenAt).toEqual(expect.any(String));
    expect(byName.get('generated 1.jpg')?.meta).toMatchObject({ width: 640, height: 480 });
    expect(byName.get('clip.mp4')?.blob?.contentType).toBe('video/mp4');
  });

  it('imports a vCard copied into the Inbox and lists its report beside it', async () => {
    const card = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:rclone-ada\r\nFN:Ada Lovelace\r\nEND:VCARD\r\n';
    await writeFile(join(work, 'friends.vcf'), card);
    await rclone(server, ['copyto', join(work, 'friends.vcf'), 'hf:Inbox/friends.vcf']);
    const listed = JSON.parse(await rclone(server, ['lsjson', 'hf:Inbox'])) as Listed[];
    expect(listed.map((e) => e.Name).sort()).toEqual(['friends.vcf', 'friends.vcf.import-report.txt']);
    const report = await rclone(server, ['cat', 'hf:Inbox/friends.vcf.import-report.txt']);
    expect(report).toContain('(vcard, friends.vcf): 1 created, 0 updated, 0 skipped, 0 rejected');
    const feed = await api(server.url, 'GET', '/v1/changes?limit=1000', { token: server.token });
    const cards = (feed.body.changes as Change[]).filter((c) => typeof c.content === 'string');
    expect(cards.map((c) => c.content)).toEqual([card]);
  }, 60_000);

  it('deletes a photo as a tombstone, keeping its history', async () => {
    await rclone(server, ['delete', 'hf:Holiday 2024', '--include', 'photo.png']);
    const listed = JSON.parse(await rclone(server, ['lsjson', 'hf:Holiday 2024'])) as Listed[];
    expect(listed.map((e) => e.Name)).not.toContain('photo.png');
    const feed = await api(server.url, 'GET', '/v1/changes?limit=1000', { token: server.token });
    const gone = (feed.body.changes as Change[]).find((c) => c.op === 'delete');
    expect(gone).toBeDefined();
    const history = await api(server.url, 'GET', `/v1/items/${gone?.itemId}/revisions`, { token: server.token });
    const revisions = history.body.revisions as { op: string; content: { filename?: string } | null }[];
    expect(revisions.map((r) => r.op)).toEqual(['put', 'delete']);
    expect(revisions[0]?.content?.filename).toBe('photo.png');
  }, 60_000);

  it('renames with a server-side moveto and copies with a server-side copyto, giving the bytes back', async () => {
    const renamed = await rcloneRun(server, [
      'moveto',
      '-v',
      'hf:Holiday 2024/generated 1.jpg',
      'hf:Holiday 2024/Renamed é.jpg',
    ]);
    expect(renamed.stderr).toMatch(/Moved \(server-side\)/);
    const copied = await rcloneRun(server, [
      'copyto',
      '-v',
      'hf:Holiday 2024/photo-exif.jpg',
      'hf:Copies/photo copy.jpg',
    ]);
    expect(copied.stderr).toMatch(/Copied \(server-side copy\)/);

    const holiday = JSON.parse(await rclone(server, ['lsjson', 'hf:Holiday 2024'])) as Listed[];
    const names = holiday.map((e) => e.Name);
    expect(names).toContain('Renamed é.jpg');
    expect(names).not.toContain('generated 1.jpg');
    expect(names).toContain('photo-exif.jpg');
    const copies = JSON.parse(await rclone(server, ['lsjson', 'hf:Copies'])) as Listed[];
    expect(copies.map((e) => [e.Name, e.Size])).toEqual([['photo copy.jpg', sent.get('photo-exif.jpg')?.length]]);

    await rclone(server, ['copyto', 'hf:Holiday 2024/Renamed é.jpg', join(work, 'back', 'renamed.jpg')]);
    await rclone(server, ['copyto', 'hf:Copies/photo copy.jpg', join(work, 'back', 'copy.jpg')]);
    expect((await readFile(join(work, 'back', 'renamed.jpg'))).equals(sent.get('generated 1.jpg') as Buffer)).toBe(
      true,
    );
    expect((await readFile(join(work, 'back', 'copy.jpg'))).equals(sent.get('photo-exif.jpg') as Buffer)).toBe(true);

    // A folder moved as a whole is the photo collection renamed.
    const folder = await rcloneRun(server, ['moveto', '-v', 'hf:Copies', 'hf:Copied photos']);
    expect(folder.stderr).toMatch(/Server side directory move succeeded/);
    const root = JSON.parse(await rclone(server, ['lsjson', 'hf:'])) as Listed[];
    expect(root.map((e) => e.Name).sort()).toEqual(['Copied photos', 'Holiday 2024', 'Inbox']);
    expect(await rclone(server, ['lsf', 'hf:Copied photos'])).toBe('photo copy.jpg\n');

    // The rename is a revision of the same item, not an upload and a delete.
    const feed = await api(server.url, 'GET', '/v1/changes?limit=1000', { token: server.token });
    const latest = new Map((feed.body.changes as Change[]).map((c) => [c.itemId, c]));
    const item = [...latest.values()].find(
      (c) => typeof c.content === 'object' && c.content?.filename === 'Renamed é.jpg',
    );
    const history = await api(server.url, 'GET', `/v1/items/${item?.itemId}/revisions`, { token: server.token });
    const revisions = history.body.revisions as { op: string; content: { filename?: string } | null }[];
    expect(revisions.map((r) => [r.op, r.content?.filename])).toEqual([
      ['put', 'generated 1.jpg'],
      ['put', 'Renamed é.jpg'],
    ]);
  }, 60_000);
});
