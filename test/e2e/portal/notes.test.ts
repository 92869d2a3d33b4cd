import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, itemPuts, loginDevice, markDocument } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The notes page in a real browser, against a real server, next to a simulated phone. */
describe('portal notes', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('writes Markdown notes, renders them without running what they carry, and shows a phone’s note live', async () => {
    const cy = await portal.addPerson('cy');
    const phone = await loginDevice(portal, cy);
    await phone.createCollection('notes', 'Notebook', 'notebook');
    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await portal.signIn(page, cy, '/notes');

    await page.getByRole('button', { name: 'New note' }).click();
    await page.getByLabel('Title').fill('Recipes');
    await page.getByLabel('Text (Markdown)').fill('# Pancakes\n\n- **flour**\n- milk\n');
    await page.getByRole('button', { name: 'Save note' }).click();
    await page.getByRole('heading', { name: 'Pancakes' }).waitFor();
    await page.getByRole('listitem').filter({ hasText: 'flour' }).locator('strong').waitFor();
    const [made] = await itemPuts(phone, (c) => (c as { title?: string }).title === 'Recipes');
    expect(made).toMatchObject({
      collectionId: 'notebook',
      content: { title: 'Recipes', body: '# Pancakes\n\n- **flour**\n- milk\n' },
    });

    // A note from the phone carrying script appears live, rendered, with the script removed.
    const stillSameDocument = await markDocument(page);
    await phone.push({
      collectionId: 'notebook',
      itemId: 'trap',
      op: 'put',
      baseRevision: null,
      content: {
        title: 'From the phone',
        body: 'Hello *there*\n\n<img src="x" onerror="window.notesHacked = 1">\n<script>window.notesHacked = 2</script>\n\n[link](javascript:window.notesHacked=3)\n',
      },
    });
    await page.getByRole('button', { name: 'From the phone' }).click();
    await page.getByRole('heading', { name: 'From the phone' }).waitFor();
    await page.locator('.note-body em', { hasText: 'there' }).waitFor();
    expect(await stillSameDocument()).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as { notesHacked?: number }).notesHacked)).toBeUndefined();
    expect(await page.locator('.note-body').innerHTML()).not.toMatch(/onerror|<script|javascript:/);
    await expectAccessible(page);

    // An edit begun before the phone changed the note does not overwrite the phone's change: it is refused as a
    // conflict, and the page says so.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Text (Markdown)').fill('Typed on the page');
    const [first] = (await phone.changes()).filter((c) => c.itemId === 'trap');
    await phone.push({
      collectionId: 'notebook',
      itemId: 'trap',
      op: 'put',
      baseRevision: first?.revision,
      content: { title: 'Phone note', body: 'Changed on the phone' },
    });
    // The list follows the phone while the editor stays open with what was typed.
    await page.getByRole('button', { name: 'Phone note' }).waitFor();
    await page.getByRole('button', { name: 'Save note' }).click();
    await page
      .getByRole('alert')
      .getByText(/changed elsewhere/)
      .waitFor();
    expect((await phone.changes()).filter((c) => c.itemId === 'trap').map((c) => c.content)).toEqual([
      first?.content,
      { title: 'Phone note', body: 'Changed on the phone' },
    ]);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.note-body', { hasText: 'Changed on the phone' }).waitFor();

    // Edit it again, now on top of the phone's version, then delete it.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Text (Markdown)').fill('Only words now.');
    await page.getByRole('button', { name: 'Save note' }).click();
    await page.locator('.note-body', { hasText: 'Only words now.' }).waitFor();
    const edits = (await phone.changes()).filter((c) => c.itemId === 'trap');
    expect(edits[2]?.content).toEqual({ title: 'Phone note', body: 'Only words now.' });
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Phone note' }).count()).toBe(0);
    expect((await phone.changes()).filter((c) => c.itemId === 'trap').map((c) => c.op)).toEqual([
      'put',
      'put',
      'put',
      'delete',
    ]);
  });
});
