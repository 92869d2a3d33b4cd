import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from './portal-harness.js';

describe('portal shell', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('moves by keyboard, marks the current section, keeps one event stream across pages, and signs out', async () => {
    const ada = await portal.addPerson('ada');
    const page = await portal.newPage();
    const streams: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/v1/events') streams.push(request.url());
    });
    await portal.signIn(page, ada, '/');

    // The first Tab reaches "Skip to content", which takes focus past the navigation.
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate('location.hash')).toBe('#content');

    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const [label, heading] of [
      ['Contacts', 'Contacts'],
      ['History and trash', 'History and trash'],
      ['Devices', 'Devices'],
      ['What happened', 'What happened'],
    ] as const) {
      await nav.getByRole('link', { name: label, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
      expect(await nav.getByRole('link', { name: label, exact: true }).getAttribute('aria-current')).toBe('page');
      // Focus moves to the new page, as a page load would put it.
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('content');
    }
    // Moving between sections never opens a second change feed.
    expect(streams).toHaveLength(1);

    // A phone-sized screen still shows the navigation and the sign-out button.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(nav.getByRole('link', { name: 'Contacts', exact: true }).isVisible()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out.').waitFor();
    const devices = await portal.ctx.db.kysely.selectFrom('devices').select(['name', 'revoked_at']).execute();
    expect(devices).toEqual([{ name: 'Web browser', revoked_at: expect.any(Number) }]);
  }, 40_000);
});
