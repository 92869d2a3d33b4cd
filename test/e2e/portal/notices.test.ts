import { recordIncident, setEmail } from '@holdfast/server';
import { type SmtpListener, startSmtpListener } from '@holdfast/test-support/smtp-listener';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, type Device, deviceOf } from './device.js';
import { markDocument } from './portal-device.js';
import { type Person, type Portal, startPortal } from './portal-harness.js';

/** Being told: an incident that touches a person shows as a banner, on "What happened", and arrives by e-mail. */
describe('portal notices', () => {
  let smtp: SmtpListener;
  let portal: Portal;
  let ada: Person;
  let phone: Device;
  beforeAll(async () => {
    smtp = await startSmtpListener();
    portal = await startPortal({ 'smtp-url': smtp.url, 'notify-poll-ms': '200', 'portal-url': 'http://portal.test' });
    ada = await portal.addPerson('ada');
    phone = await deviceOf(portal, ada, 'Pixel');
    await setEmail(portal.ctx, ada.userId, 'ada@example.org');
    await phone.call('/v1/collections', { id: 'family', type: 'contacts', name: 'Family' });
  });
  afterAll(async () => {
    await portal?.close();
    await smtp?.close();
  });

  it('shows a restore of the person’s data live, lists it in words, mails it, and keeps a dismissal', async () => {
    const [first] = await phone.push([
      { collectionId: 'family', itemId: 'ann', op: 'put', baseRevision: null, content: card('ann', 'Ann Lee', '1') },
    ]);
    await phone.push([
      { collectionId: 'family', itemId: 'ann', op: 'put', baseRevision: first ?? null, content: card('ann', 'X', '') },
    ]);

    const page = await portal.newPage();
    await portal.signIn(page, ada, '/contacts');
    const notices = page.getByRole('region', { name: 'Notices' });
    expect(await notices.count()).toBe(0);
    const sameDocument = await markDocument(page);

    // Another device puts the Family contacts back as they were: the open page shows the banner without a reload.
    await phone.call('/v1/restore', { revision: first, collectionIds: ['family'] });
    await notices.getByText(/Your data was restored as it was at revision \d+/).waitFor();
    expect(await sameDocument()).toBe(true);

    // "What happened" says it in words, naming the collection rather than an id.
    await notices.getByRole('link', { name: 'What happened' }).click();
    const entries = page.getByRole('list', { name: 'Recorded events' });
    await entries.getByRole('heading', { name: 'Data was restored' }).waitFor();

    // The mail reaches the person's address and names what happened.
    await expect.poll(() => smtp.mails.length, { timeout: 10_000 }).toBe(1);
    const mail = smtp.mails[0];
    expect(mail?.to).toEqual(['ada@example.org']);
    expect(mail?.subject).toMatch(/^Holdfast: Your data was restored as it was at revision \d+$/);
    expect(mail?.text).toContain('Your data in "Family" was put back');
    expect(mail?.text).toContain('What of yours it touched: 1 item came back');

    // Dismissed, it stays dismissed after a reload.
    await notices.getByRole('button', { name: 'Dismiss' }).click();
    await notices.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'What happened', level: 1 }).waitFor();
    await entries.getByRole('heading', { name: 'Data was restored' }).waitFor();
    expect(await notices.count()).toBe(0);
  }, 40_000);

  it('shows a deployment-wide restore from backup after moving to another page, and mails it', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/');
    const notices = page.getByRole('region', { name: 'Notices' });
    await page.getByRole('heading', { name: 'Is my data safe?', level: 1 }).waitFor();
    expect(await notices.count()).toBe(0);
    const sameDocument = await markDocument(page);
    // Recorded as a restore from a backup repository records it: per account, what came back.
    await recordIncident(portal.ctx.db, {
      kind: 'restore',
      userId: null,
      summary: 'Restored from backup repository r1 up to revision 40.',
      details: { repository: 'r1', seq: 40, users: { [ada.userId]: { items: 3, collections: 1 } } },
    });
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Contacts' }).click();
    await notices.getByText('The server was restored from a backup').waitFor();
    expect(await sameDocument()).toBe(true);

    await notices.getByRole('link', { name: 'What happened' }).click();
    const entries = page.getByRole('list', { name: 'Recorded events' });
    await entries.getByText('affected everyone on this server', { exact: false }).first().waitFor();
    await entries.getByText('Of yours: 3 items in 1 collection.').waitFor();

    await expect.poll(() => smtp.mails.length, { timeout: 10_000 }).toBe(2);
    expect(smtp.mails[1]?.subject).toBe('Holdfast: The server was restored from a backup');
    expect(smtp.mails[1]?.text).toContain('Your account was in it: 3 items in 1 collection.');
  }, 40_000);
});
