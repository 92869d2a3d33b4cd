/**
 * export(import(x)) keeps every field, for generated contacts and events:
 * any text (commas, semicolons, backslashes, line breaks, emoji), any number
 * of phones, emails and addresses, groups and X- properties; events with
 * rules, exceptions, overrides, alarms and attendees in a time zone.
 */

import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { occurrences } from '@holdfast/test-support/occurrences';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { componentKey, semanticComponents } from '../content/semantic.js';
import { bundleTexts, type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';

/** The values an arbitrary generates. */
type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;

const escapeText = (text: string) => text.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');
/** Folds at 75 UTF-16 units, never inside a surrogate pair, with CRLF + space or tab. */
const fold = (line: string, tab: boolean) => {
  const chars = [...line];
  const parts: string[] = [];
  for (let i = 0; i < chars.length; i += 60) parts.push(chars.slice(i, i + 60).join(''));
  return parts.join(tab ? '\r\n\t' : '\r\n ');
};

// Any grapheme except control characters (a NUL cannot be stored as text; the others cannot be written in a content line).
const grapheme = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 1 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being left out.
  .filter((g) => !/[\u0000-\u001f\u007f]/.test(g));
const text = fc.string({
  unit: fc.oneof(fc.constantFrom(',', ';', '\\', '\n', ':', '"', ' ', 'é', '名', '😀'), grapheme),
  maxLength: 40,
});
const token = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
const phone = fc.stringMatching(/^\+?[0-9 ()-]{0,15}$/);
const email = fc.tuple(token, token).map(([a, b]) => `${a}@${b}.example`);
const types = fc.subarray(['HOME', 'WORK', 'CELL', 'VOICE', 'PREF', 'X-OTHER']);

const contact = fc.record({
  version: fc.constantFrom('3.0', '4.0'),
  uid: fc.option(token, { nil: null }),
  fn: text,
  n: fc.array(text, { minLength: 5, maxLength: 5 }),
  tels: fc.array(fc.tuple(phone, types, fc.option(token, { nil: null })), { maxLength: 6 }),
  emails: fc.array(fc.tuple(email, types), { maxLength: 4 }),
  adrs: fc.array(fc.array(text, { minLength: 7, maxLength: 7 }), { maxLength: 3 }),
  notes: fc.array(text, { maxLength: 2 }),
  extras: fc.array(fc.tuple(token, token, text), { maxLength: 3 }),
  tab: fc.boolean(),
});

function cardText(c: Generated<typeof contact>, index: number): string {
  const param = (t: string[]) => (t.length > 0 ? `;TYPE=${t.join(',')}` : '');
  const lines = [
    `VERSION:${c.version}`,
    ...(c.uid ? [`UID:${c.uid}-${index}`] : []),
    `FN:${escapeText(c.fn)}`,
    `N:${c.n.map(escapeText).join(';')}`,
    ...c.tels.map(([tel, t, group]) => `${group ? `${group}.` : ''}TEL${param(t)}:${tel}`),
    ...c.emails.map(([address, t]) => `EMAIL${param(t)}:${address}`),
    ...c.adrs.map((parts) => `ADR:${parts.map(escapeText).join(';')}`),
    ...c.notes.map((note) => `NOTE:${escapeText(note)}`),
    ...c.extras.map(([name, value, label]) => `X-${name};X-LABEL="${value}":${escapeText(label)}`),
  ];
  return ['BEGIN:VCARD', ...lines.map((line) => fold(line, c.tab)), 'END:VCARD', ''].join('\r\n');
}

const zone = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:DAYLIGHT',
  'DTSTART:19810329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'DTSTART:19961027T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'END:VTIMEZONE',
];

const event = fc.record({
  summary: text,
  day: fc.integer({ min: 1, max: 28 }),
  hour: fc.integer({ min: 0, max: 23 }),
  freq: fc.option(fc.constantFrom('DAILY', 'WEEKLY', 'MONTHLY'), { nil: null }),
  count: fc.integer({ min: 1, max: 20 }),
  exdates: fc.subarray([1, 2, 3]),
  overrides: fc.subarray([2, 4]),
  alarms: fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 2 }),
  attendees: fc.array(fc.tuple(email, fc.constantFrom('ACCEPTED', 'DECLINED', 'NEEDS-ACTION'), text), { maxLength: 3 }),
});

function eventBlocks(e: Generated<typeof event>, uid: string): string[] {
  const pad = (n: number) => String(n).padStart(2, '0');
  const at = (dayOffset: number) =>
    `202403${pad(e.day)}T${pad(e.hour)}0000`.replace(
      /03(\d\d)T/,
      (_m, d: string) => `03${pad(Number(d) + dayOffset)}T`,
    );
  const recurring = e.freq !== null && e.count > 4;
  const master = [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20240101T000000Z',
    `DTSTART;TZID=Europe/Berlin:${at(0)}`,
    `SUMMARY:${escapeText(e.summary)}`,
    ...(recurring ? [`RRULE:FREQ=${e.freq === 'MONTHLY' ? 'DAILY' : e.freq};COUNT=${e.count}`] : []),
    ...(recurring && e.freq === 'DAILY' ? e.exdates.map((d) => `EXDATE;TZID=Europe/Berlin:${at(d)}`) : []),
    ...e.attendees.map(
      ([mail, status, name]) => `ATTENDEE;CN="${name.replace(/["\r\n\\]/g, '')}";PARTSTAT=${status}:mailto:${mail}`,
    ),
    ...e.alarms.flatMap((minutes) => [
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      `DESCRIPTION:${escapeText(e.summary)}`,
      `TRIGGER:-PT${minutes}M`,
      'END:VALARM',
    ]),
    'END:VEVENT',
  ];
  const overrides =
    recurring && e.freq === 'DAILY'
      ? e.overrides
          .filter((d) => !e.exdates.includes(d))
          .flatMap((d) => [
            'BEGIN:VEVENT',
            `UID:${uid}`,
            'DTSTAMP:20240101T000000Z',
            `RECURRENCE-ID;TZID=Europe/Berlin:${at(d)}`,
            `DTSTART;TZID=Europe/Berlin:${at(d).replace(/T\d\d/, 'T23')}`,
            'SUMMARY:moved',
            'END:VEVENT',
          ])
      : [];
  return [...master, ...overrides];
}

describe.each(engines)('generated data round trip on %s', (engine) => {
  let f: FormatsFixture;
  let user: TestUser;
  let run = 0;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    user = await addUser(f.server);
  });
  afterAll(async () => f.close());

  /** Imports into a fresh collection, exports the account and returns that collection's exported file. */
  async function roundTrip(type: 'contacts' | 'calendar', body: string): Promise<string> {
    const id = await f.collection(type, `run ${++run}`, user);
    const report = await f.import(
      await f.file(`run-${run}.${type === 'contacts' ? 'vcf' : 'ics'}`, body),
      { collectionId: id },
      user,
    );
    expect(report.items.filter((i) => i.status === 'rejected')).toEqual([]);
    const { path, manifest } = await f.export(`run-${run}.zip`, {}, user);
    const collection = manifest.collections.find((c) => c.id === id);
    return (
      (await bundleTexts(path, new RegExp(`^${(collection?.path ?? '').replace(/[.()]/g, '\\$&')}$`)))[0]?.text ?? ''
    );
  }

  test('contacts keep every property', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(contact, { minLength: 1, maxLength: 4 }), async (contacts) => {
        const cards = contacts.map(cardText);
        const exported = await roundTrip('contacts', cards.join(''));
        const keys = (t: string) => semanticComponents(t).map(componentKey).sort();
        // Identical generated cards are one item (the second is skipped as already there).
        expect(keys(exported)).toEqual([...new Set(keys(cards.join('')))].sort());
      }),
      { numRuns: 15 },
    );
  });

  test('events keep every component, property and occurrence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 3 }), async (events) => {
        const blocks = events.flatMap((e, i) => eventBlocks(e, `ev-${run + 1}-${i}`));
        const original = [
          'BEGIN:VCALENDAR',
          'VERSION:2.0',
          'PRODID:-//Gen//EN',
          ...zone,
          ...blocks,
          'END:VCALENDAR',
          '',
        ].join('\r\n');
        const exported = await roundTrip('calendar', original);
        const children = (t: string) => (semanticComponents(t)[0]?.components ?? []).map(componentKey).sort();
        expect(children(exported)).toEqual(children(original));
        expect(occurrences(exported)).toEqual(occurrences(original));
      }),
      { numRuns: 15 },
    );
  });
});
