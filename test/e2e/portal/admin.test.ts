import { setUserAdmin } from '@holdfast/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, loginDevice } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The operators' page in a real browser, against a real server with no backup target. */
describe('portal operators page', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('shows an operator that data is at risk and why, the users, their reports, and disables and enables a user', async () => {
    const gus = await portal.addPerson('gus');
    const gusPhone = await loginDevice(portal, gus);
    await gusPhone.api('/v1/reports', { method: 'POST', body: { text: 'My March photos are gone.' } });
    const ops = await portal.addPerson('ops');
    await setUserAdmin(portal.ctx, 'ops', true);
    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await portal.signIn(page, ops, '/admin');

    // No backup target: the dashboard is red and says why.
    const status = page.getByRole('status').filter({ has: page.getByRole('heading', { name: 'At risk' }) });
    await status.waitFor();
    expect(await status.getByRole('listitem').count()).toBeGreaterThan(0);
    expect(await status.evaluate(backgroundOf)).toBe('rgb(252, 232, 230)');
    await page.getByRole('cell', { name: 'No backup target is configured.' }).waitFor();

    // Users, with what they store; and what they reported.
    await page.getByRole('rowheader', { name: 'gus' }).waitFor();
    await page.getByRole('rowheader', { name: 'ops (operator)' }).waitFor();
    await page.getByText('My March photos are gone.').waitFor();
    await expectAccessible(page);

    // Starting a backup on a server without targets says why it cannot.
    await page.getByRole('button', { name: 'Start a backup now' }).click();
    await page.getByText(/runs no backups/).waitFor();

    // Disabling a user stops their devices at once; enabling lets them back.
    await page.getByRole('button', { name: 'Disable gus' }).click();
    await page.getByText('gus is disabled.').waitFor();
    await expect(gusPhone.api('/v1/me')).rejects.toThrow(/40[13]/);
    await page.getByRole('button', { name: 'Enable gus' }).click();
    await page.getByText('gus is enabled.').waitFor();
    await page.getByRole('button', { name: 'Disable gus' }).waitFor();
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

/** An element's computed background colour (run in the page). */
function backgroundOf(element: unknown): string {
  const view = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } };
  return view.getComputedStyle(element).backgroundColor;
}
