import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from './portal-harness.js';

/** The main pages, as the navigation lists them (the operators' page is an admin's only). */
const PAGES = [
  '/',
  '/contacts',
  '/calendar',
  '/tasks',
  '/notes',
  '/photos',
  '/messages',
  '/history',
  '/incidents',
  '/my-data',
  '/devices',
  '/account',
];

describe('portal on a phone-sized screen', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('keeps every main page within a 390 px wide screen, with a long username', async () => {
    // A long name is what pushed the header past the screen's edge.
    const person = await portal.addPerson('margarethe-van-der-berghe-longname');
    const page = await portal.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await portal.signIn(page, person, '/');
    const nav = page.getByRole('navigation', { name: 'Sections' });
    const wider: string[] = [];
    for (const path of PAGES) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await nav.waitFor();
      const width = (await page.evaluate(
        '({ scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, viewport: innerWidth })',
      )) as { scroll: number; body: number; viewport: number };
      if (Math.max(width.scroll, width.body) > width.viewport) wider.push(`${path}: ${width.scroll}/${width.body} px`);
    }
    expect(wider).toEqual([]);
    expect(await page.evaluate('innerWidth')).toBe(390);
  }, 60_000);
});
