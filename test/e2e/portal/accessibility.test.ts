import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, type Device, deviceOf } from './device.js';
import { type Person, type Portal, startPortal } from './portal-harness.js';

const DOCS_IMAGES = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
/** The screenshots in docs/ are refreshed only when asked, so a test run leaves the checkout as it was. */
const SCREENSHOTS = process.env.HOLDFAST_PORTAL_SCREENSHOTS === '1';
const screenshot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: `${DOCS_IMAGES}${name}` });
};

/** Serious and critical axe-core violations on the page as it stands, by rule and target. */
async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((node) => `${v.id}: ${node.target.join(' ')} (${v.help})`));
}

describe('portal accessibility', () => {
  let portal: Portal;
  let ada: Person;
  let phone: Device;
  beforeAll(async () => {
    portal = await startPortal();
    ada = await portal.addPerson('ada');
    phone = await deviceOf(portal, ada);
    await phone.call('/v1/collections', { id: 'people', type: 'contacts', name: 'People' });
    const [first] = await phone.push([
      {
        collectionId: 'people',
        itemId: 'ada-l',
        op: 'put',
        baseRevision: null,
        content: card('ada-l', 'Ada Lovelace', '+44 20 7946 0000', 'NICKNAME:Countess\r\nEMAIL:ada@example.com\r\n'),
      },
      {
        collectionId: 'people',
        itemId: 'ada-k',
        op: 'put',
        baseRevision: null,
        content: card('ada-k', 'Ada King', '+44 20 7946 0099'),
      },
      {
        collectionId: 'people',
        itemId: 'gone',
        op: 'put',
        baseRevision: null,
        content: card('gone', 'Charles Babbage', '+44 20 7946 0001'),
      },
    ]);
    await phone.push([
      {
        collectionId: 'people',
        itemId: 'ada-l',
        op: 'put',
        baseRevision: first ?? 0,
        content: card('ada-l', 'Ada Lovelace', '+44 20 7946 0099', 'NICKNAME:Countess\r\nEMAIL:ada@example.com\r\n'),
      },
      { collectionId: 'people', itemId: 'gone', op: 'delete', baseRevision: (first ?? 0) + 2 },
    ]);
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('has no serious or critical violations on any page of the portal, signed out or in, wide or phone-sized', async () => {
    const page = await portal.newPage();
    await page.goto('/sign-in?reason=session_expired');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const found: Record<string, string[]> = { '/sign-in': await seriousViolations(page) };
    await screenshot(page, 'portal-sign-in.png');

    await portal.signIn(page, ada, '/');
    const pages: [string, () => Promise<unknown>][] = [
      ['/', () => page.getByText(/contacts, 0 events/).waitFor()],
      ['/contacts', () => page.getByText('Ada Lovelace').waitFor()],
      ['/contacts/new', () => page.getByLabel('Name', { exact: true }).waitFor()],
      ['/contacts/ada-l', () => page.getByText('Countess').waitFor()],
      ['/contacts/ada-l/edit', () => page.getByLabel('Name', { exact: true }).waitFor()],
      ['/contacts/duplicates', () => page.getByRole('button', { name: 'Merge…' }).waitFor()],
      ['/history', () => page.getByText('Charles Babbage').waitFor()],
      ['/history/items/ada-l', () => page.getByRole('button', { name: 'Restore this version' }).waitFor()],
      ['/incidents', () => page.getByLabel('What is missing or wrong?').waitFor()],
      ['/my-data', () => page.getByRole('button', { name: 'Download my data' }).waitFor()],
      ['/devices', () => page.getByLabel('App name').waitFor()],
      ['/account', () => page.getByLabel('Current password').waitFor()],
    ];
    for (const [path, ready] of pages) {
      await page.goto(path);
      await ready();
      found[path] = await seriousViolations(page);
      if (path === '/contacts') await screenshot(page, 'portal-contacts.png');
      if (path === '/history/items/ada-l') await screenshot(page, 'portal-history.png');
    }
    // A phone-sized screen: the same pages, laid out for it.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, ready] of pages.slice(0, 4)) {
      await page.goto(path);
      await ready();
      found[`${path} (phone)`] = await seriousViolations(page);
    }
    for (const [path, violations] of Object.entries(found)) expect(violations, path).toEqual([]);
  }, 55_000);
});
