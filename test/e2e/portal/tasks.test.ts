import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, itemPuts, loginDevice, markDocument } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The tasks page in a real browser, against a real server, next to a simulated phone. */
describe('portal tasks', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('makes a list, adds, ticks, edits and deletes tasks, and shows a phone’s task live', async () => {
    const bea = await portal.addPerson('bea');
    const phone = await loginDevice(portal, bea);
    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await portal.signIn(page, bea, '/tasks');

    // A person with no list yet makes one on the page; it is a collection of type tasks.
    await page.getByLabel('New list name').fill('Errands');
    await page.getByRole('button', { name: 'Add list' }).click();
    await page.getByLabel('New task').waitFor();
    const lists = await phone.api<{ collections: { id: string; type: string; name: string }[] }>('/v1/collections');
    expect(lists.collections).toMatchObject([{ type: 'tasks', name: 'Errands' }]);
    const listId = lists.collections[0]?.id as string;

    await page.getByLabel('New task').fill('Buy milk');
    await page.getByLabel('Due', { exact: true }).fill('2030-05-04');
    await page.getByRole('button', { name: 'Add task' }).click();
    await page.getByRole('checkbox', { name: 'Buy milk' }).waitFor();
    const [made] = await itemPuts(phone, (c) => String(c).includes('SUMMARY:Buy milk'));
    expect(made?.collectionId).toBe(listId);
    expect(String(made?.content)).toContain('BEGIN:VTODO');
    expect(String(made?.content)).toContain('DUE;VALUE=DATE:20300504');

    // Ticking it done is a new revision with STATUS:COMPLETED.
    await page.getByRole('checkbox', { name: 'Buy milk' }).check();
    await page.getByText('0 open, 1 done.').waitFor();
    await expect
      .poll(async () => (await itemPuts(phone, (c) => String(c).includes('STATUS:COMPLETED'))).length)
      .toBe(1);

    // A task written by the phone appears without a reload.
    const stillSameDocument = await markDocument(page);
    await phone.push({
      collectionId: listId,
      itemId: 'post',
      op: 'put',
      baseRevision: null,
      content: [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Phone//EN',
        'BEGIN:VTODO',
        'UID:post',
        'DTSTAMP:20260101T000000Z',
        'SUMMARY:Post the parcel',
        'STATUS:NEEDS-ACTION',
        'END:VTODO',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    });
    await page.getByRole('checkbox', { name: 'Post the parcel' }).waitFor();
    await page.getByText('1 open, 1 done.').waitFor();
    expect(await stillSameDocument()).toBe(true);
    await expectAccessible(page);

    // Edit the phone's task: title and due date.
    await page.getByRole('button', { name: 'Edit Post the parcel' }).click();
    await page.getByLabel('Title').fill('Post the big parcel');
    await page.getByLabel('Due', { exact: true }).last().fill('2030-06-01');
    await page.getByRole('button', { name: 'Save task' }).click();
    await page.getByRole('checkbox', { name: 'Post the big parcel' }).waitFor();
    const edits = (await phone.changes()).filter((c) => c.itemId === 'post');
    expect(edits).toHaveLength(2);
    expect(String(edits[1]?.content)).toContain('DUE;VALUE=DATE:20300601');

    // Delete it.
    await page.getByRole('button', { name: 'Delete Post the big parcel' }).click();
    await expect.poll(() => page.getByRole('checkbox', { name: 'Post the big parcel' }).count()).toBe(0);
    expect((await phone.changes()).filter((c) => c.itemId === 'post').map((c) => c.op)).toEqual([
      'put',
      'put',
      'delete',
    ]);
  });
});
