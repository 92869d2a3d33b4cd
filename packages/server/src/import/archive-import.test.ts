import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FormatsFixture, listContents, startFormatsFixture } from '../test-support/accounts.js';
import { zipFolder } from '../test-support/zip-folder.js';
import { findSidecar } from './photo-sidecars.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
const takeout = `${fixtures}moving-in/takeout`;
const album = 'Takeout/Google Photos/Photos from 2023';

interface Photo {
  id: string;
  content: { filename?: string; caption?: string; takenAt?: string };
  blob: { sha256: string; contentType: string };
  meta: { takenAt: string | null; width: number | null };
}

async function photos(f: FormatsFixture, user: TestUser): Promise<Photo[]> {
  const collections = await f.server.app.inject({ method: 'GET', url: '/v1/collections', headers: user.auth });
  const id = (collections.json().collections as { id: string; type: string }[]).find((c) => c.type === 'photos')?.id;
  const response = await f.server.app.inject({
    method: 'GET',
    url: `/v1/collections/${id}/items?limit=1000`,
    headers: user.auth,
  });
  return (response.json().items as Photo[]).sort((a, b) =>
    (a.content.caption ?? '').localeCompare(b.content.caption ?? ''),
  );
}

async function blobBytes(f: FormatsFixture, user: TestUser, sha: string): Promise<Buffer> {
  const response = await f.server.app.inject({ method: 'GET', url: `/v1/blobs/${sha}`, headers: user.auth });
  return response.rawPayload;
}

describe('Google Takeout sidecars', () => {
  test('are found by full, shortened and counted names', () => {
    const paths = new Set([
      'a/IMG_1.jpg.json',
      'a/IMG_2.jpg.supplemental-metadata.json',
      'a/IMG_20200101_120000123.png.supplemental-met.json',
      'a/IMG_3.jpg(1).json',
      'a/IMG_3.jpg.json',
      'b/IMG_4.jpg.json',
    ]);
    expect(findSidecar('a/IMG_1.jpg', paths)).toBe('a/IMG_1.jpg.json');
    expect(findSidecar('a/IMG_2.jpg', paths)).toBe('a/IMG_2.jpg.supplemental-metadata.json');
    expect(findSidecar('a/IMG_20200101_120000123.png', paths)).toBe(
      'a/IMG_20200101_120000123.png.supplemental-met.json',
    );
    expect(findSidecar('a/IMG_3(1).jpg', paths)).toBe('a/IMG_3.jpg(1).json');
    expect(findSidecar('a/IMG_3.jpg', paths)).toBe('a/IMG_3.jpg.json');
    expect(findSidecar('a/IMG_4.jpg', paths)).toBeNull();
  });
});

describe.each(engines)('folder and ZIP import on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  test.each(['folder', 'zip'])(
    'a Takeout %s: photos byte for byte with their sidecars, contacts and events',
    async (kind) => {
      const user = await addUser(f.server);
      const path = kind === 'folder' ? takeout : await zipFolder(takeout, join(f.dir, `takeout-${engine}.zip`));
      const report = await f.import(path, {}, user);
      expect(report.format).toBe('archive');
      expect(report.counts).toEqual({ created: 10, updated: 0, skipped: 1, rejected: 1 });
      expect(report.items.map((i) => [i.source, i.status, i.type ?? null])).toEqual([
        [
          'Takeout/Calendar/alice@example.invalid.ics: event at line 8 (UID 0a1b2c3d4e5f@google.com)',
          'created',
          'calendar',
        ],
        ['Takeout/Contacts/My Contacts/My Contacts.vcf: card 1 (line 1)', 'created', 'contacts'],
        ['Takeout/Contacts/My Contacts/My Contacts.vcf: card 2 (line 9)', 'created', 'contacts'],
        [`${album}/IMG_0001(1).jpg (with IMG_0001.jpg(1).json)`, 'created', 'photos'],
        [`${album}/IMG_0001.jpg (with IMG_0001.jpg.supplemental-metadata.json)`, 'created', 'photos'],
        [
          `${album}/IMG_20200101_120000123.png (with IMG_20200101_120000123.png.supplemental-met.json)`,
          'created',
          'photos',
        ],
        // Keep: its picture, three notes and one in the trash (keep-notes.test.ts reads them closely).
        ['Takeout/Keep/1684050067000.9f8e7d6c5b4a3921.jpg', 'created', 'photos'],
        ['Takeout/Keep/2023-02-11T08_15_42.123+01_00.json', 'created', 'notes'],
        ['Takeout/Keep/Harbour walk.json', 'created', 'notes'],
        ['Takeout/Keep/Old idea.json', 'skipped', null],
        ['Takeout/Keep/Shopping list.json', 'created', 'notes'],
        ['Takeout/archive_browser.html', 'rejected', null],
      ]);
      const stored = (await photos(f, user)).filter((p) => !p.content.filename?.startsWith('1684050067000.'));
      expect(stored.map((p) => [p.content, p.blob.contentType, p.meta.takenAt])).toEqual([
        [
          { filename: 'IMG_20200101_120000123.png', takenAt: '2020-01-01T12:00:00.000Z' },
          'image/png',
          '2020-01-01T12:00:00.000Z',
        ],
        [
          { filename: 'IMG_0001.jpg', caption: 'Sunrise over the harbour', takenAt: '2023-05-14T07:41:07.000Z' },
          'image/jpeg',
          '2023-05-14T09:41:07+02:00',
        ],
        [
          {
            filename: 'IMG_0001.jpg',
            caption: 'The second IMG_0001, from another phone',
            takenAt: '2023-05-15T07:41:07.000Z',
          },
          'image/jpeg',
          '2023-05-15T07:41:07.000Z',
        ],
      ]);
      const files = ['IMG_20200101_120000123.png', 'IMG_0001.jpg', 'IMG_0001(1).jpg'];
      for (const [i, photo] of stored.entries()) {
        const original = await readFile(join(takeout, album, files[i] ?? ''));
        expect((await blobBytes(f, user, photo.blob.sha256)).equals(original)).toBe(true);
      }

      const again = await f.import(path, {}, user);
      expect(again.counts).toEqual({ created: 0, updated: 0, skipped: 11, rejected: 1 });
    },
  );

  test('a plain folder of photos: any image kind, its bytes exactly, its name as the file name', async () => {
    const user = await addUser(f.server);
    const folder = join(f.dir, `camera-${engine}`);
    await mkdir(join(folder, 'DCIM', '100APPLE'), { recursive: true });
    // An HEIC's first box; the rest does not matter: an image that cannot be read is still kept as it is.
    const heic = Buffer.concat([Buffer.from('000000186674797068656963000000006d696631', 'hex'), Buffer.alloc(64, 7)]);
    await writeFile(join(folder, 'DCIM', '100APPLE', 'IMG_0042.HEIC'), heic);
    await writeFile(join(folder, '.DS_Store'), 'finder');
    const report = await f.import(folder, {}, user);
    expect(report.counts).toEqual({ created: 1, updated: 0, skipped: 0, rejected: 0 });
    const [photo] = await photos(f, user);
    expect(photo?.content).toEqual({ filename: 'IMG_0042.HEIC' });
    expect(photo?.blob.contentType).toBe('image/heic');
    expect((await blobBytes(f, user, photo?.blob.sha256 ?? '')).equals(heic)).toBe(true);
  });

  test('exports and imports into a fresh account as the same photos, contacts, events and Keep notes', async () => {
    const user = await addUser(f.server);
    const first = await f.import(takeout, {}, user);
    const { path } = await f.export('takeout-roundtrip.zip', {}, user);
    const fresh = await addUser(f.server);
    const second = await f.import(path, {}, fresh);
    expect(second.counts).toMatchObject({ created: 10, rejected: 0 });
    const contents = async (who: TestUser, report: typeof first) => {
      const out: unknown[] = [];
      for (const c of report.collectionsCreated) {
        if (c.type === 'photos') continue;
        out.push(...(await listContents(f.server, who, c.id)).values());
      }
      return out.map((c) => JSON.stringify(c)).sort();
    };
    const kept = await contents(user, first);
    expect(kept.filter((c) => c.includes('BEGIN:VJOURNAL'))).toHaveLength(3);
    expect(await contents(fresh, second)).toEqual(kept);
    const strip = (list: Photo[]) => list.map((p) => ({ content: p.content, blob: p.blob, meta: p.meta }));
    expect(strip(await photos(f, fresh))).toEqual(strip(await photos(f, user)));
  });
});
