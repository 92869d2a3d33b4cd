import { vevent } from '@holdfast/test-support/harness';
import { expectSettled, itemOf, liveContents, serverContents } from '@holdfast/test-support/inspect';
import { createAccount, device, engines, type LiveServer, startLiveServer } from '@holdfast/test-support/live-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldfastClient } from '../client.js';

const card = (lines: string[]) => ['BEGIN:VCARD', 'VERSION:4.0', 'UID:shared', ...lines, 'END:VCARD', ''].join('\r\n');
const baseCard = card(['FN:Ada', 'N:;Ada;;;', 'TEL;TYPE=cell:+1 555 0100', 'EMAIL:ada@example.com']);
const doomedCard = (extra: string[] = []) =>
  ['BEGIN:VCARD', 'VERSION:4.0', 'UID:doomed', 'FN:Doomed', 'TEL:+1 555 0900', ...extra, 'END:VCARD', ''].join('\r\n');

const orders = [
  ['A', 'B', 'C'],
  ['A', 'C', 'B'],
  ['B', 'A', 'C'],
  ['B', 'C', 'A'],
  ['C', 'A', 'B'],
  ['C', 'B', 'A'],
] as const;

describe.each(engines)('three devices editing offline converge on %s', (engine) => {
  let live: LiveServer;
  beforeAll(async () => {
    live = await startLiveServer(engine);
  });
  afterAll(async () => live?.close());

  it.each(orders)('reconnecting in the order %s, %s, %s', async (...order) => {
    const account = await createAccount(live);
    const devices: Record<'A' | 'B' | 'C', HoldfastClient> = {
      A: await device(live, account, { name: `A-${order.join('')}` }),
      B: await device(live, account, { backend: 'memory' }),
      C: await device(live, account, { name: `C-${order.join('')}` }),
    };
    const { A, B, C } = devices;
    const book = A.createCollection({ type: 'contacts', name: 'Book' });
    const cal = A.createCollection({ type: 'calendar', name: 'Cal' });
    const notes = A.createCollection({ type: 'notes', name: 'Notes' });
    A.createItem(book.id, baseCard, { id: 'shared' });
    A.createItem(book.id, doomedCard(), { id: 'doomed' });
    A.createItem(cal.id, vevent('ev', 'Planning'), { id: 'ev' });
    A.createItem(notes.id, { title: 'Memo', body: 'base' }, { id: 'memo' });
    for (const d of [A, B, C]) await d.sync();

    // Offline, each device changes the same things differently.
    const fn = { A: 'Ada Lovelace', B: 'Ada King', C: 'Countess Ada' };
    A.updateItem(
      'shared',
      card([
        `FN:${fn.A}`,
        'N:;Ada;;;',
        'TEL;TYPE=cell:+1 555 0100',
        'TEL;TYPE=work:+1 555 0111',
        'EMAIL:ada@example.com',
      ]),
    );
    B.updateItem(
      'shared',
      card([`FN:${fn.B}`, 'N:;Ada;;;', 'TEL;TYPE=cell:+1 555 0100', 'EMAIL:ada@example.com', 'EMAIL:king@example.com']),
    );
    C.updateItem(
      'shared',
      card([
        `FN:${fn.C}`,
        'N:;Ada;;;',
        'TEL;TYPE=cell:+1 555 0100',
        'TEL;TYPE=home:+1 555 0133',
        'EMAIL:ada@example.com',
        'ORG:Analytical Engines',
      ]),
    );
    const event = vevent('ev', 'Planning');
    A.updateItem('ev', event.replace('SUMMARY:Planning', 'SUMMARY:Quarterly planning'));
    B.updateItem('ev', event.replace('DTSTART:20260301T090000Z', 'DTSTART:20260301T083000Z'));
    C.updateItem('ev', event.replace('SUMMARY:Planning', 'SUMMARY:Planning\r\nLOCATION:Room 4'));
    const bodies = { A: 'from A', B: 'from B', C: 'from C' };
    for (const [name, d] of Object.entries(devices)) d.updateItem('memo', { title: 'Memo', body: bodies[name as 'A'] });
    A.deleteItem('doomed');
    B.updateItem('doomed', doomedCard(['TEL:+1 555 0901']));
    for (const [name, d] of Object.entries(devices))
      d.createItem(notes.id, { title: `only on ${name}`, body: '' }, { id: `own-${name}` });

    for (const name of order) await devices[name].sync();
    for (let round = 0; round < 2; round++) for (const name of order) await devices[name].sync();

    for (const d of [A, B, C]) expectSettled(d);
    const expected = liveContents(A);
    expect(liveContents(B)).toEqual(expected);
    expect(liveContents(C)).toEqual(expected);
    expect(await serverContents(live, account)).toEqual(expected);

    // Nothing any device added was lost.
    const shared = itemOf(A, 'shared').content as string;
    for (const value of [
      '+1 555 0100',
      '+1 555 0111',
      '+1 555 0133',
      'ada@example.com',
      'king@example.com',
      'ORG:Analytical Engines',
    ]) {
      expect(shared).toContain(value);
    }
    const ev = itemOf(A, 'ev').content as string;
    for (const value of ['SUMMARY:Quarterly planning', 'DTSTART:20260301T083000Z', 'LOCATION:Room 4'])
      expect(ev).toContain(value);
    expect(itemOf(A, 'doomed')).toMatchObject({ deleted: false });
    expect(itemOf(A, 'doomed').content).toContain('+1 555 0901');
    for (const name of ['A', 'B', 'C']) expect(expected.has(`own-${name}`)).toBe(true);

    // What lost a conflict is kept in a conflict record on the device that merged it.
    const records = [A, B, C].flatMap((d) => d.conflicts());
    const losingFns = records.flatMap((r) =>
      r.fields.filter((f) => f.property === 'FN').map((f) => f.losingValue ?? ''),
    );
    for (const name of Object.values(fn)) {
      expect(shared.includes(`FN:${name}`) || losingFns.some((v) => v.includes(name))).toBe(true);
    }
    const memo = (itemOf(A, 'memo').content as { body: string }).body;
    const losingBodies = records
      .filter((r) => r.itemId === 'memo' && r.kind === 'last_writer_wins')
      .map((r) => (r.losingContent as { body: string }).body);
    expect([memo, ...losingBodies].sort()).toEqual(Object.values(bodies).sort());
    expect(records.some((r) => r.itemId === 'doomed' && r.kind === 'edit_over_delete')).toBe(true);
  });
});
