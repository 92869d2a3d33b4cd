import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, icsUtc, itemPuts, localInput, loginDevice, markDocument } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The text of the focused element (run in the page). */
function focusedText(): string | undefined {
  const { document } = globalThis as unknown as { document: { activeElement: { textContent: string } | null } };
  return document.activeElement?.textContent;
}

/** The calendar page in a real browser, against a real server, next to a simulated phone. */
describe('portal calendar', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('creates, shows, edits and deletes events, recurring ones expanded, and shows a phone’s event live', async () => {
    const ada = await portal.addPerson('ada');
    const phone = await loginDevice(portal, ada);
    await phone.createCollection('calendar', 'Home', 'home');
    const page = await portal.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await portal.signIn(page, ada, '/calendar');
    await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();

    // A weekly event made on the page reaches the change feed as iCalendar, repeating.
    const start = new Date();
    start.setHours(9, 30, 0, 0);
    await page.getByRole('button', { name: 'New event' }).click();
    await page.getByLabel('Title').fill('Dentist');
    await page.getByLabel('Starts').fill(localInput(start, true));
    await page.getByLabel('Ends').fill(localInput(new Date(start.getTime() + 3_600_000), true));
    await page.getByLabel('Repeats').selectOption('WEEKLY');
    await page.getByRole('button', { name: 'Save event' }).click();
    await expect.poll(async () => (await itemPuts(phone, (c) => String(c).includes('SUMMARY:Dentist'))).length).toBe(1);
    // With the form gone, keyboard focus is back on the calendar.
    await expect.poll(() => page.evaluate(focusedText)).toBe('New event');
    const [made] = await itemPuts(phone, (c) => String(c).includes('SUMMARY:Dentist'));
    expect(made?.collectionId).toBe('home');
    expect(String(made?.content)).toContain('RRULE:FREQ=WEEKLY');
    expect(String(made?.content)).toContain(`DTSTART:${icsUtc(start)}`);

    // The agenda lists the next 30 days: the weekly event comes back every 7 days.
    await page.getByRole('button', { name: 'Agenda' }).click();
    await expect.poll(() => page.getByRole('button', { name: /Dentist/ }).count()).toBeGreaterThanOrEqual(4);
    await page.getByRole('button', { name: 'Week' }).click();
    await expect.poll(() => page.getByRole('button', { name: /Dentist/ }).count()).toBe(1);

    // An event written by the phone appears without a reload.
    const stillSameDocument = await markDocument(page);
    const lunch = new Date();
    lunch.setHours(12, 0, 0, 0);
    const lunchIcs = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Phone//EN',
      'BEGIN:VEVENT',
      'UID:lunch',
      `DTSTAMP:${icsUtc(new Date())}`,
      `DTSTART:${icsUtc(lunch)}`,
      `DTEND:${icsUtc(new Date(lunch.getTime() + 3_600_000))}`,
      'SUMMARY:Lunch with Bea',
      'X-PHONE-COLOUR:teal',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const lunchRevision = await phone.push({
      collectionId: 'home',
      itemId: 'lunch',
      op: 'put',
      baseRevision: null,
      content: lunchIcs,
    });
    await page.getByRole('button', { name: /Lunch with Bea/ }).waitFor();
    expect(await stillSameDocument()).toBe(true);

    // Editing it from the page writes a new revision on top of the phone's, keeping what the phone wrote.
    await page.getByRole('button', { name: /Lunch with Bea/ }).click();
    await expect(page.getByLabel('Title').inputValue()).resolves.toBe('Lunch with Bea');
    await page.getByLabel('Title').fill('Lunch with Bea and Cy');
    await page.getByRole('button', { name: 'Save event' }).click();
    await page.getByRole('button', { name: /Lunch with Bea and Cy/ }).waitFor();
    const lunchEdits = (await phone.changes()).filter((c) => c.itemId === 'lunch');
    expect(lunchEdits.map((c) => c.op)).toEqual(['put', 'put']);
    expect(lunchEdits[1]?.revision).toBeGreaterThan(lunchRevision);
    expect(String(lunchEdits[1]?.content)).toContain('SUMMARY:Lunch with Bea and Cy');
    expect(String(lunchEdits[1]?.content)).toContain('X-PHONE-COLOUR:teal');

    await expectAccessible(page);
    await page.getByRole('button', { name: 'Month' }).click();
    await expectAccessible(page);

    // Deleting it from the page is a delete in the feed, and it leaves the page.
    await page.getByRole('button', { name: /Lunch with Bea and Cy/ }).click();
    await page.getByRole('button', { name: 'Delete event' }).click();
    await expect.poll(() => page.getByRole('button', { name: /Lunch with Bea/ }).count()).toBe(0);
    expect((await phone.changes()).filter((c) => c.itemId === 'lunch').map((c) => c.op)).toEqual([
      'put',
      'put',
      'delete',
    ]);
  });
});
