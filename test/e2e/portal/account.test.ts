import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, type Device, deviceOf } from './device.js';
import { type Person, type Portal, startPortal } from './portal-harness.js';

/** The person's own pages: is my data safe, what happened, my data, devices. */
describe('portal account pages', () => {
  let portal: Portal;
  let ada: Person;
  let phone: Device;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-portal-account-'));
    portal = await startPortal();
    ada = await portal.addPerson('ada');
    phone = await deviceOf(portal, ada, 'Pixel');
    await phone.call('/v1/collections', { id: 'people', type: 'contacts', name: 'People' });
    await phone.push([
      {
        collectionId: 'people',
        itemId: 'p1',
        op: 'put',
        baseRevision: null,
        content: card('p1', 'Ann Lee', '+1 555 0001'),
      },
      {
        collectionId: 'people',
        itemId: 'p2',
        op: 'put',
        baseRevision: null,
        content: card('p2', 'Bo Diaz', '+1 555 0002', 'TEL:+1 555 0003\r\nEMAIL:bo@example.com\r\n'),
      },
    ]);
  });
  afterAll(async () => {
    await portal?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says how much the person has, of each field, and their devices', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/');
    await page.getByRole('heading', { name: 'Is my data safe?' }).waitFor();
    await page.getByText('2 contacts, 0 events, 0 tasks, 0 notes, 0 photos and 0 messages.').waitFor();
    await page.getByText(/Your contacts hold 3 phone numbers, 1 e-mail address/).waitFor();
    await page.getByText('This server has no backup target').waitFor();
    await page.getByText(/Web browser \(this browser\): last seen/).waitFor();
    await page.getByText(/Pixel: last seen/).waitFor();
  });

  it('tells what happened in words and takes a report of something missing', async () => {
    // A restore is on the record: the person undid a change to a moment ago.
    const head = await phone.call<{ revision: number }>('/v1/items/p1');
    await phone.push([
      {
        collectionId: 'people',
        itemId: 'p1',
        op: 'put',
        baseRevision: head.revision,
        content: card('p1', 'Ann Lee', ''),
      },
    ]);
    const other = await phone.call<{ revision: number }>('/v1/items/p2');
    await phone.call('/v1/restore', { revision: Math.max(head.revision, other.revision), collectionIds: ['people'] });
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/incidents');
    const entries = page.getByRole('list', { name: 'Recorded events' });
    await entries.getByRole('heading', { name: 'Data was restored' }).waitFor();
    await page.getByLabel('What is missing or wrong?').fill('The phone number of my dentist is gone.');
    await page.getByRole('button', { name: 'Send to the operators' }).click();
    await page.getByText('Sent. The operators see your report').waitFor();
    const ledger = await phone.call<{ entries: { kind: string; summary: string; details?: { text?: string } }[] }>(
      '/v1/ledger',
    );
    expect(ledger.entries.some((e) => e.kind === 'user_report')).toBe(true);
    await entries.getByRole('heading', { name: 'You reported a problem' }).waitFor();
  });

  it('downloads the export with a summary in words that holdfast verify-export accepts, and imports a file', async () => {
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/my-data');
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download my data' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^holdfast-export-\d{4}-\d{2}-\d{2}\.zip$/);
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    await page
      .getByText(/Your export holds 2 contacts, 3 phone numbers and 1 e-mail address, in \d+ files? \(/)
      .waitFor();
    const verified = await runCli(['verify-export', file]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);

    const vcf = join(dir, 'friends.vcf');
    await writeFile(
      vcf,
      `${card('imported-1', 'Cy Imported', '+1 555 0100')}BEGIN:VCARD\r\nVERSION:4.0\r\nUID:empty\r\nEND:VCARD\r\n`,
    );
    await page.getByLabel(/File to import/).setInputFiles(vcf);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText(/Imported: 1 new item, 0 items updated, 0 items already here, 1 item refused\./).waitFor();
    const found = await phone.call<{ contacts: { name: string }[] }>('/v1/contacts/search?q=Imported');
    expect(found.contacts.map((c) => c.name)).toEqual(['Cy Imported']);
    await page.getByRole('button', { name: 'Undo this import' }).click();
    await page.getByText('The import is undone.').waitFor();
    const after = await phone.call<{ contacts: unknown[] }>('/v1/contacts/search?q=Imported');
    expect(after.contacts).toEqual([]);
  }, 40_000);

  it('renames and signs out devices, and makes an app password with setup steps that DAV accepts', async () => {
    const laptop = await deviceOf(portal, ada, 'Old laptop');
    const page = await portal.newPage();
    await portal.signIn(page, ada, '/devices');
    await page.getByRole('button', { name: 'Rename Pixel' }).click();
    await page.getByLabel('New name').fill('Kitchen phone');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('heading', { name: 'Kitchen phone' }).waitFor();
    await page.getByRole('button', { name: 'Sign out Old laptop' }).click();
    await expect
      .poll(() =>
        laptop.call('/v1/me').then(
          () => 'live',
          () => 'revoked',
        ),
      )
      .toBe('revoked');
    await page.getByText('Signed out earlier (1)').waitFor();

    await page.getByLabel('App name').fill('iPhone');
    await page.getByRole('button', { name: 'Create app password' }).click();
    const secret = (await page.locator('code.secret').textContent()) ?? '';
    expect(secret).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){5}$/);
    await page.getByText(`${portal.url}/dav/`, { exact: true }).first().waitFor();
    await page.getByRole('heading', { name: 'Android with DAVx⁵' }).waitFor();
    const dav = await fetch(`${portal.url}/dav/`, {
      method: 'PROPFIND',
      headers: { authorization: `Basic ${Buffer.from(`ada:${secret}`).toString('base64')}`, depth: '0' },
    });
    expect(dav.status).toBe(207);
    await page.getByRole('button', { name: 'Revoke iPhone' }).click();
    await expect
      .poll(async () => {
        const again = await fetch(`${portal.url}/dav/`, {
          method: 'PROPFIND',
          headers: { authorization: `Basic ${Buffer.from(`ada:${secret}`).toString('base64')}`, depth: '0' },
        });
        return again.status;
      })
      .toBe(401);
  }, 40_000);
});
