import { tinyPng } from '@holdfast/test-support/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, itemPuts, loginDevice, markDocument } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** Message threads in a real browser, against a real server, next to a simulated phone. */
describe('portal messages', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('shows threads with pictures beside their text, sends with a picture, and shows a phone’s message live', async () => {
    const eve = await portal.addPerson('eve');
    const phone = await loginDevice(portal, eve);
    await phone.createCollection('messages', 'SMS', 'sms');
    const picture = await phone.putBlob(tinyPng(12, 12));
    await phone.push({
      collectionId: 'sms',
      itemId: 'm1',
      op: 'put',
      baseRevision: null,
      content: {
        thread: 'Mum',
        sender: 'Mum',
        recipients: ['eve'],
        body: 'Look at the garden',
        sentAt: '2026-05-01T10:00:00Z',
        direction: 'incoming',
        attachments: [{ sha256: picture, contentType: 'image/png', filename: 'garden.png' }],
      },
    });
    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await portal.signIn(page, eve, '/messages');

    await page.getByRole('button', { name: /Mum/ }).click();
    const message = page
      .getByRole('region', { name: 'Conversation Mum' })
      .getByRole('listitem')
      .filter({ hasText: 'Look at the garden' });
    const image = message.getByRole('img', { name: 'garden.png' });
    await image.waitFor();
    // The picture is shown (decoded, not a broken image), to the right of the text on a wide screen.
    await expect
      .poll(() =>
        image.evaluate((img) => {
          const shown = img as unknown as { complete: boolean; naturalWidth: number };
          return shown.complete && shown.naturalWidth > 0;
        }),
      )
      .toBe(true);
    const textBox = await message.getByText('Look at the garden').boundingBox();
    const imageBox = await image.boundingBox();
    expect(imageBox && textBox && imageBox.x >= textBox.x + textBox.width).toBe(true);

    // A reply with a picture, sent from the page, reaches the feed with its attachment uploaded.
    await page.getByRole('textbox', { name: 'Message' }).fill('Lovely!');
    await page
      .getByLabel('Pictures')
      .setInputFiles({ name: 'reply.png', mimeType: 'image/png', buffer: tinyPng(5, 6) });
    await page.getByRole('button', { name: 'Send message' }).click();
    // The textarea holds the words too until the write is done: wait for them in the thread.
    const bodies = page.getByRole('region', { name: /^Conversation/ }).locator('.message-body');
    await bodies.filter({ hasText: 'Lovely!' }).waitFor();
    const [sent] = await itemPuts(phone, (c) => (c as { body?: string }).body === 'Lovely!');
    expect(sent?.content).toMatchObject({
      thread: 'Mum',
      sender: 'eve',
      recipients: ['Mum'],
      direction: 'outgoing',
      attachments: [{ contentType: 'image/png', filename: 'reply.png' }],
    });

    // The phone receives a message; it appears in the open thread without a reload.
    const stillSameDocument = await markDocument(page);
    await phone.push({
      collectionId: 'sms',
      itemId: 'm3',
      op: 'put',
      baseRevision: null,
      content: {
        thread: 'Mum',
        sender: 'Mum',
        recipients: ['eve'],
        body: 'Come for tea on Sunday',
        sentAt: new Date().toISOString(),
        direction: 'incoming',
      },
    });
    await bodies.filter({ hasText: 'Come for tea on Sunday' }).waitFor();
    expect(await stillSameDocument()).toBe(true);
    await expectAccessible(page);

    // A new conversation, then deleting a message.
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByRole('textbox', { name: 'To', exact: true }).fill('Dad');
    await page.getByRole('textbox', { name: 'Message' }).fill('Happy birthday');
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.getByRole('heading', { name: 'Dad' }).waitFor();
    await page.getByRole('button', { name: /Delete the message from eve/ }).click();
    await expect.poll(() => bodies.filter({ hasText: 'Happy birthday' }).count()).toBe(0);
    const dad = (await phone.changes()).filter((c) => (c.content as { thread?: string } | null)?.thread === 'Dad');
    expect(dad.map((c) => c.op)).toEqual(['put']);
    expect((await phone.changes()).filter((c) => c.itemId === dad[0]?.itemId).map((c) => c.op)).toEqual([
      'put',
      'delete',
    ]);
  });
});
