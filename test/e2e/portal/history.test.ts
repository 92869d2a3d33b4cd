import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, type Device, deviceOf } from './device.js';
import { type Person, type Portal, startPortal } from './portal-harness.js';

describe('portal history', () => {
  let portal: Portal;
  let ada: Person;
  let phone: Device;
  beforeAll(async () => {
    portal = await startPortal();
    ada = await portal.addPerson('ada');
    phone = await deviceOf(portal, ada);
    await phone.call('/v1/collections', { id: 'people', type: 'contacts', name: 'People' });
    await phone.call('/v1/collections', { id: 'work', type: 'contacts', name: 'Work' });
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('restores one collection to an earlier time from a preview that names the items, and undoes it', async () => {
    const [lin] = await phone.push([
      {
        collectionId: 'people',
        itemId: 'lin',
        op: 'put',
        baseRevision: null,
        content: card('lin', 'Lin Wu', '+1 555 0101'),
      },
      {
        collectionId: 'people',
        itemId: 'mo',
        op: 'put',
        baseRevision: null,
        content: card('mo', 'Mo Salah', '+1 555 0102'),
      },
      {
        collectionId: 'work',
        itemId: 'boss',
        op: 'put',
        baseRevision: null,
        content: card('boss', 'The Boss', '+1 555 0103'),
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // After that moment a device blanks a number, deletes a contact and adds one; the other collection changes too.
    await phone.push([
      { collectionId: 'people', itemId: 'lin', op: 'put', baseRevision: lin ?? 0, content: card('lin', 'Lin Wu', '') },
      { collectionId: 'people', itemId: 'mo', op: 'delete', baseRevision: (lin ?? 0) + 1 },
      {
        collectionId: 'people',
        itemId: 'new',
        op: 'put',
        baseRevision: null,
        content: card('new', 'Newcomer', '+1 555 0104'),
      },
      { collectionId: 'work', itemId: 'boss', op: 'delete', baseRevision: (lin ?? 0) + 2 },
    ]);

    const page = await portal.browser.newContext({ baseURL: portal.url, timezoneId: 'UTC' }).then((c) => c.newPage());
    try {
      await portal.signIn(page, ada, '/history');
      await page.getByLabel('What to restore').selectOption({ label: 'People' });
      await page.getByLabel('Date and time', { exact: true }).fill(before.toISOString().slice(0, 19));
      await page.getByRole('button', { name: 'Preview' }).click();
      const preview = page.getByRole('region', { name: 'Restore preview' });
      await preview.getByText('Bring back as it was: Lin Wu in People').waitFor();
      await preview.getByText('Bring back as it was: Mo Salah in People').waitFor();
      await preview.getByText('Remove (made later): Newcomer in People').waitFor();
      expect(await preview.getByText('The Boss').count()).toBe(0);
      // A preview writes nothing.
      expect((await phone.call<{ content: string }>('/v1/items/lin')).content).not.toContain('0101');

      await preview.getByRole('button', { name: 'Restore these items' }).click();
      await page.getByText('Restored: 2 brought back, 1 removed.').waitFor();
      expect((await phone.call<{ content: string }>('/v1/items/lin')).content).toContain('+1 555 0101');
      expect((await phone.call<{ content: string }>('/v1/items/mo')).content).toContain('Mo Salah');
      await expect(phone.call('/v1/items/new')).rejects.toThrow(/404/);
      // Only the chosen collection: the other one's delete stands.
      await expect(phone.call('/v1/items/boss')).rejects.toThrow(/404/);

      await page.getByRole('button', { name: 'Undo this restore' }).click();
      await page.getByText('The restore is undone').waitFor();
      expect((await phone.call<{ content: string }>('/v1/items/lin')).content).not.toContain('0101');
      await expect(phone.call('/v1/items/mo')).rejects.toThrow(/404/);
      expect((await phone.call<{ content: string }>('/v1/items/new')).content).toContain('Newcomer');
    } finally {
      await page.context().close();
    }
  }, 40_000);

  it("shows an item's revisions as a readable diff, restores a version, and keeps a trash with its retention", async () => {
    const [first] = await phone.push([
      {
        collectionId: 'people',
        itemId: 'ida',
        op: 'put',
        baseRevision: null,
        content: card('ida', 'Ida Wells', '+1 555 0200'),
      },
    ]);
    await phone.push([
      {
        collectionId: 'people',
        itemId: 'ida',
        op: 'put',
        baseRevision: first ?? 0,
        content: card('ida', 'Ida B. Wells', '+1 555 0299'),
      },
    ]);
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/contacts/ida');
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await page.getByRole('heading', { name: 'History of Ida B. Wells' }).waitFor();
    const changes = page.getByRole('list', { name: /Changes in revision/ }).first();
    await changes.getByText('Removed Name: Ida Wells').waitFor();
    await changes.getByText('Added Name: Ida B. Wells').waitFor();
    await changes.getByText('Added Phone (cell): +1 555 0299').waitFor();
    await page.getByRole('button', { name: 'Restore this version' }).click();
    await page.getByText('Restored. It is now the newest version').waitFor();
    const item = await phone.call<{ content: string }>('/v1/items/ida');
    expect(item.content).toContain('FN:Ida Wells');

    const head = await phone.call<{ revision: number }>('/v1/items/ida');
    await phone.push([{ collectionId: 'people', itemId: 'ida', op: 'delete', baseRevision: head.revision }]);
    await page.goto('/history');
    await page.getByText(/Deleted items stay here for \d+ days/).waitFor();
    await page.getByRole('button', { name: 'Restore Ida Wells' }).click();
    await expect
      .poll(async () => (await phone.call<{ content: string }>('/v1/items/ida')).content)
      .toContain('Ida Wells');
  }, 30_000);
});
