import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The operators' page in a real browser. */
describe('portal operators page', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('tells a person who is not an operator that the page is not for them, and shows nothing else', async () => {
    const fay = await portal.addPerson('fay');
    const page = await portal.newPage();
    await portal.signIn(page, fay, '/admin');
    await page.getByText('This page is for the people who run this server.').waitFor();
    await page.getByRole('heading', { name: 'Operators' }).waitFor();
    expect(await page.getByRole('button', { name: /Start a backup|Start a restore drill|Disable/ }).count()).toBe(0);
    await expectAccessible(page);
  });
});
