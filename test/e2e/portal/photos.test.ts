import { createHash } from 'node:crypto';
import { tinyPng } from '@holdfast/test-support/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, itemPuts, loginDevice, markDocument } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The photo grid in a real browser, against a real server, next to a simulated phone. */
describe('portal photos', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('uploads photos, pages the grid of server thumbnails, downloads originals, and shows a phone’s photo live', async () => {
    const dee = await portal.addPerson('dee');
    const phone = await loginDevice(portal, dee);
    await phone.createCollection('photos', 'Camera roll', 'roll');
    // More photos than one page of the grid holds, written by the phone in one batch.
    const batch = [];
    for (let i = 0; i < 61; i++) {
      const sha256 = await phone.putBlob(tinyPng(4 + i, 3));
      batch.push({
        clientChangeId: `seed-${i}`,
        collectionId: 'roll',
        itemId: `p${String(i).padStart(3, '0')}`,
        op: 'put',
        baseRevision: null,
        content: { filename: `IMG_${i}.png` },
        blob: { sha256, contentType: 'image/png' },
      });
    }
    await phone.api('/v1/push', { method: 'POST', body: { changes: batch } });

    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    const thumbnails: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/thumbnail?size=256')) thumbnails.push(request.url());
    });
    await portal.signIn(page, dee, '/photos');

    // The first page holds 60 photos; the grid is virtual, so only the rows on screen are in the page, and only
    // they ask the server for thumbnails. The rest of the album comes on demand.
    const tiles = page.getByRole('list', { name: 'Photos' }).getByRole('listitem');
    await page.getByText('60 photos so far, more as you scroll down').waitFor();
    await expect.poll(() => tiles.count()).toBeGreaterThan(0);
    expect(await tiles.count()).toBeLessThan(60);
    const first = batch[0]?.blob.sha256 as string;
    await expect.poll(() => thumbnails.some((url) => url.endsWith(`/v1/blobs/${first}/thumbnail?size=256`))).toBe(true);
    expect(new Set(thumbnails).size).toBeLessThan(60);
    // Scrolling to the end of the grid loads the next page, and the last photo is drawn there instead of the first.
    await page.getByRole('button', { name: 'Load more photos' }).scrollIntoViewIfNeeded();
    await page.getByText('61 photos in this album').waitFor();
    await page.getByRole('button', { name: 'Load more photos' }).waitFor({ state: 'detached' });
    await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    await page.getByRole('link', { name: 'Download the original of IMG_60.png' }).waitFor();
    await expect.poll(() => page.getByRole('link', { name: 'Download the original of IMG_0.png' }).count()).toBe(0);
    expect(await tiles.count()).toBeLessThan(61);
    await page.evaluate('window.scrollTo(0, 0)');

    // The original downloads as the exact bytes uploaded.
    const link = page.getByRole('link', { name: 'Download the original of IMG_0.png' });
    expect(await link.getAttribute('download')).toBe('IMG_0.png');
    const original = await page.request.get(new URL((await link.getAttribute('href')) as string, portal.url).href);
    expect(original.status()).toBe(200);
    expect(Buffer.from(await original.body()).equals(tinyPng(4, 3))).toBe(true);

    // Uploading on the page: the blob goes up by its hash and the item references it.
    const bytes = tinyPng(9, 9);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await page.getByLabel('Add photos').setInputFiles({ name: 'beach.png', mimeType: 'image/png', buffer: bytes });
    await page.getByText('Added 1 photo.').waitFor();
    const [made] = await itemPuts(phone, (c) => (c as { filename?: string }).filename === 'beach.png');
    expect(made).toMatchObject({ collectionId: 'roll', blob: { sha256, contentType: 'image/png' } });

    // A photo the phone adds appears without a reload.
    const stillSameDocument = await markDocument(page);
    const live = await phone.putBlob(tinyPng(7, 7));
    await phone.push({
      collectionId: 'roll',
      itemId: 'a-live-one',
      op: 'put',
      baseRevision: null,
      content: { filename: 'live.png', caption: 'Sunset from the phone' },
      blob: { sha256: live, contentType: 'image/png' },
    });
    await page.getByRole('link', { name: 'Download the original of Sunset from the phone' }).waitFor();
    expect(await stillSameDocument()).toBe(true);
    await expectAccessible(page);

    // Caption and delete from the page.
    await page.getByRole('button', { name: 'Edit the caption of Sunset from the phone' }).click();
    await page.getByRole('textbox', { name: 'Caption' }).fill('Sunset, Brighton');
    await page.getByRole('button', { name: 'Save caption' }).click();
    await page.getByRole('link', { name: 'Download the original of Sunset, Brighton' }).waitFor();
    await page.getByRole('button', { name: 'Delete Sunset, Brighton' }).click();
    await expect.poll(() => page.getByRole('link', { name: /Sunset/ }).count()).toBe(0);
    const history = (await phone.changes()).filter((c) => c.itemId === 'a-live-one');
    expect(history.map((c) => c.op)).toEqual(['put', 'put', 'delete']);
    expect(history[1]).toMatchObject({
      content: { filename: 'live.png', caption: 'Sunset, Brighton' },
      blob: { sha256: live },
    });
  });
});
