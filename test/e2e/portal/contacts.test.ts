import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, type Device, deviceOf } from './device.js';
import { countNavigations, type Person, type Portal, startPortal } from './portal-harness.js';

interface Change {
  itemId: string | null;
  op: string;
  revision: number;
  content: unknown;
  deviceId: string;
}

describe('portal contacts', () => {
  let portal: Portal;
  let ada: Person;
  let phone: Device;
  beforeAll(async () => {
    portal = await startPortal();
    ada = await portal.addPerson('ada');
    phone = await deviceOf(portal, ada);
    await phone.call('/v1/collections', { id: 'people', type: 'contacts', name: 'People' });
    // 10,000 contacts, as an ordinary address book, pushed by the phone in batches.
    for (let batch = 0; batch < 10; batch++) {
      const changes = Array.from({ length: 1000 }, (_, i) => {
        const n = batch * 1000 + i;
        const id = `c${String(n).padStart(5, '0')}`;
        return {
          clientChangeId: `seed-${n}`,
          collectionId: 'people',
          itemId: id,
          op: 'put',
          baseRevision: null,
          content: card(id, `Person ${String(n).padStart(5, '0')}`, `+1 555 ${String(n).padStart(5, '0')}`),
        };
      });
      await phone.call('/v1/push', { changes });
    }
  }, 120_000);
  afterAll(async () => {
    await portal?.close();
  });

  it('lists 10,000 contacts virtually and searches them on the server', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/contacts');
    const list = page.getByRole('list', { name: 'Contact list' });
    await list.getByText('Person 00000').waitFor();
    // Only what is on screen is in the page, not ten thousand rows.
    expect(await list.getByRole('listitem').count()).toBeLessThan(60);
    // Scrolling to the end pages the rest in from the server.
    for (let i = 0; i < 80; i++) {
      await page.locator('.virtual-list').evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      if ((await list.getByText('Person 09999').count()) > 0) break;
      await page.waitForTimeout(100);
    }
    await list.getByText('Person 09999').waitFor();
    await page.getByLabel('Search contacts').fill('555 04321');
    await list.getByText('Person 04321').waitFor();
    await expect.poll(() => list.getByRole('listitem').count()).toBe(1);
  }, 50_000);

  it('creates a contact that arrives through the change feed, follows a device edit live, deletes and undoes', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/contacts');
    await page.getByRole('link', { name: 'New contact' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
    await page.getByLabel('Nicknames (separated by commas)').fill('Amazing Grace');
    await page.getByLabel('Phone numbers (one per line)').fill('+1 202 555 0143');
    await page.getByLabel('E-mail addresses (one per line)').fill('grace@example.com');
    await page.getByRole('button', { name: 'Save contact' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper' }).waitFor();
    await page.getByText('Amazing Grace').waitFor();
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');

    // The phone sees it arrive through /v1/changes, as the vCard the portal wrote.
    const feed = await phone.call<{ changes: Change[] }>('/v1/changes?limit=1000&cursor=');
    let changes = feed.changes;
    let cursor = (feed as unknown as { cursor: string; hasMore: boolean }).cursor;
    let more = (feed as unknown as { hasMore: boolean }).hasMore;
    while (more) {
      const next = await phone.call<{ changes: Change[]; cursor: string; hasMore: boolean }>(
        `/v1/changes?limit=1000&cursor=${encodeURIComponent(cursor)}`,
      );
      changes = next.changes;
      cursor = next.cursor;
      more = next.hasMore;
    }
    const created = changes.find((c) => c.itemId === id);
    expect(created?.op).toBe('put');
    expect(String(created?.content)).toContain('FN:Grace Hopper');
    expect(String(created?.content)).toContain('NICKNAME:Amazing Grace');

    // The phone changes the number; the open page shows it without a reload.
    const navigations = countNavigations(page);
    const item = await phone.call<{ revision: number; content: string }>(`/v1/items/${id}`);
    const edited = item.content.replace('+1 202 555 0143', '+1 202 555 0199');
    const pushed = await phone.call<{ results: { status: string }[] }>('/v1/push', {
      changes: [
        {
          clientChangeId: 'phone-edit',
          collectionId: 'people',
          itemId: id,
          op: 'put',
          baseRevision: item.revision,
          content: edited,
        },
      ],
    });
    expect(pushed.results[0]?.status).toBe('applied');
    await page.getByText('+1 202 555 0199').waitFor();
    expect(navigations.count()).toBe(0);

    // Delete, then undo: the contact and its fields come back.
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('The contact is deleted.').waitFor();
    const gone = await fetch(`${portal.url}/v1/items/${id}`, {
      headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(gone.status).toBe(404);
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper' }).waitFor();
    await page.getByText('+1 202 555 0199').waitFor();
    const back = await phone.call<{ deleted: boolean; content: string }>(`/v1/items/${id}`);
    expect(back.content).toContain('FN:Grace Hopper');
  }, 40_000);

  it('edits keep what the form does not show, and duplicates merge only after the person confirms', async () => {
    await phone.call('/v1/push', {
      changes: [
        {
          clientChangeId: 'dup-1',
          collectionId: 'people',
          itemId: 'dup-1',
          op: 'put',
          baseRevision: null,
          content: card(
            'dup-1',
            'Katherine Johnson',
            '+1 757 555 0100',
            'ADR;TYPE=home:;;1 Langley Rd;Hampton;VA;;US\r\n',
          ),
        },
        {
          clientChangeId: 'dup-2',
          collectionId: 'people',
          itemId: 'dup-2',
          op: 'put',
          baseRevision: null,
          content: card('dup-2', 'Kathy Johnson', '+1 757 555 0100', 'EMAIL:kj@example.com\r\n'),
        },
      ],
    });
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/contacts/dup-1');
    await page.getByText('1 Langley Rd').waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Organization').fill('NASA');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('NASA').waitFor();
    // The address, which the form does not edit, is still on the card.
    await page.getByText('1 Langley Rd').waitFor();

    await page.goto('/contacts/duplicates');
    const group = page.getByRole('region', { name: /Katherine Johnson and Kathy Johnson/ });
    await group.getByRole('button', { name: 'Merge…' }).click();
    await group.getByText('kj@example.com').waitFor();
    // Nothing has changed yet: the preview only shows what the merge would do.
    expect((await phone.call<{ content: string }>('/v1/items/dup-2')).content).toContain('Kathy Johnson');
    await group.getByRole('button', { name: 'Confirm merge' }).click();
    await group.getByText('Merged.').waitFor();
    const kept = await phone.call<{ content: string }>('/v1/items/dup-1');
    expect(kept.content).toContain('kj@example.com');
    expect(kept.content).toContain('NICKNAME:Kathy Johnson');
    expect(kept.content).toContain('1 Langley Rd');
    const removed = await fetch(`${portal.url}/v1/items/dup-2`);
    expect(removed.status).toBe(401);
    const trash = await phone.call<{ items: { id: string }[] }>('/v1/trash');
    expect(trash.items.map((i) => i.id)).toContain('dup-2');
  }, 40_000);
});
