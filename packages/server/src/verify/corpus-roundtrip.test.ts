/**
 * Every file of the corpus (the bundled test/fixtures/corpus, and the extra
 * one when HOLDFAST_EXTRA_CORPUS_DIR names it; see the READMEs for the
 * rules) goes import → store → export → re-parse, on both
 * engines. What comes back is compared with the original semantically,
 * property by property: (group, name, parameters, value) for every card and
 * every calendar component, VCALENDAR properties, and the occurrences ical.js
 * expands (UTC instants, bounded window). The original is read here by the
 * test's own tolerant reader from the bytes as a careful client decodes
 * them, not by the import code. Parts of a file Holdfast does not take are
 * listed below with the reason the import report must give; anything else
 * missing fails the test.
 */

import { type CorpusFile, corpusFiles } from '@holdfast/test-support/corpus';
import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { occurrences } from '@holdfast/test-support/occurrences';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { componentKey, type SemanticComponent, semanticComponents } from '../content/semantic.js';
import { parseNote } from '../export/export-notes.js';
import type { ImportReport } from '../import/import-report.js';
import { bundleTexts, type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { type LocatedComponent, tolerantParse } from '../test-support/tolerant-parse.js';
import { databaseLiveSource, verifyExport } from './verify.js';

const vcards = corpusFiles('vcard');
const calendars = corpusFiles('ical');

const FREE_BUSY = /a free\/busy list is worked out from the events it covers .*, so there is nothing to keep$/;

/** What the import skips as nothing to keep (free/busy replies), by the line it starts on. */
const SKIPPED: Record<string, { line: number; reason: RegExp }[]> = {
  'davmail-freebusy.ics': [{ line: 5, reason: FREE_BUSY }],
  // Extra corpus.
  'icalendar_davmail-freebusy.ics': [{ line: 5, reason: FREE_BUSY }],
  'nodeical_zimbra-freebusy.ics': [{ line: 5, reason: FREE_BUSY }],
  // A free/busy list next to events, tasks and a journal entry (which is kept, as a note).
  'nodeical_apple-ical-1.0-todo-journal.ics': [{ line: 74, reason: FREE_BUSY }],
};

/** What the import refuses, by the line it starts on, and the reason it must give. */
const REJECTED: Record<string, { line: number; reason: RegExp }[]> = {
  // Extra corpus.
  // An X-COMMENT line after END:VCALENDAR belongs to no calendar.
  'icalendar_podio.ics': [{ line: 36, reason: /^line 36 is outside any VCALENDAR \('X-COMMENT:Cached from/ }],
  // DTSTART;TZID="W. Europe Standard Time:20200609T090000": the value sits inside the quotes, so there is no value.
  'nodeical_exchange-8-timezones.ics': [
    { line: 145, reason: /DTSTART has no ':' before its value \(the ':' is inside the quoted TZID parameter\)/ },
  ],
};

/**
 * Files ical.js cannot read, before or after, so their occurrences cannot be
 * expanded (every component and property is still compared above):
 * Exchange/CDO writes `BYDAY=MO, TU, WE, TH, FR`, which ical.js refuses.
 */
const UNEXPANDABLE = new Set<string>(['icalendar_exchange-cdo.ics']);

function checkReport(name: string, report: ImportReport): Set<number> {
  const lines = new Set<number>();
  for (const [status, listed] of [
    ['rejected', REJECTED],
    ['skipped', SKIPPED],
  ] as const) {
    const expected = listed[name] ?? [];
    const found = new Set<number>();
    for (const item of report.items.filter((i) => i.status === status)) {
      const line = Number(/line (\d+)/.exec(item.source)?.[1]);
      const entry = expected.find((e) => e.line === line);
      expect(entry, `${name}: unexpected ${status} ${item.source}: ${item.reason}`).toBeDefined();
      expect(item.reason).toMatch(entry?.reason ?? /^$/);
      found.add(line);
      lines.add(line);
    }
    expect([...found].sort()).toEqual(expected.map((e) => e.line).sort());
  }
  // Nothing else is skipped, rejected or merged: every other part of the file was created.
  expect(report.items.filter((i) => !['created', 'rejected', 'skipped'].includes(i.status))).toEqual([]);
  return lines;
}

/** The calendar objects of the notes a bundle holds that were journal entries. */
async function journalTexts(zip: string): Promise<{ text: string }[]> {
  const notes = await bundleTexts(zip, /^notes\/.*\.md$/);
  return notes.flatMap((n) => {
    const ical = parseNote(n.text).front.ical;
    return ical ? [{ text: ical }] : [];
  });
}

const keys = (components: SemanticComponent[]) => components.map(componentKey).sort();

describe.each(engines)('corpus round trip on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  async function roundTrip(file: CorpusFile): Promise<{ report: ImportReport; zip: string; user: TestUser }> {
    const user = await addUser(f.server);
    const report = await f.import(await f.file(file.name, file.bytes), {}, user);
    const { path: zip } = await f.export(`${file.name}.zip`, {}, user);
    const verified = await verifyExport(
      zip,
      databaseLiveSource(f.server.ctx.db.kysely, { id: user.userId, username: user.username }),
    );
    expect([...verified.findings, ...(verified.live?.findings ?? [])]).toEqual([]);
    return { report, zip, user };
  }

  test.each(vcards.map((file) => [file.name, file] as const))(
    '%s: every card comes back with every property',
    async (name, file) => {
      const { report, zip } = await roundTrip(file);
      const rejectedLines = checkReport(name, report);
      const original = tolerantParse(file.text);
      expect(original.outside).toEqual([]);
      const expected = original.components.filter((c) => !rejectedLines.has(c.line));
      const exported = (await bundleTexts(zip, /^contacts\/.*\.vcf$/)).flatMap((f) => semanticComponents(f.text));
      expect(keys(exported)).toEqual(keys(expected));
      // The past failure: names came back, phone numbers, addresses and emails did not.
      for (const field of ['TEL', 'EMAIL', 'ADR', 'N', 'PHOTO', 'URL']) {
        const count = (cards: SemanticComponent[]) =>
          cards.flatMap((c) => c.properties).filter((p) => p.name === field).length;
        expect([field, count(exported)]).toEqual([field, count(expected)]);
      }
    },
  );

  test.each(calendars.map((file) => [file.name, file] as const))(
    '%s: every component, property and occurrence comes back',
    async (name, file) => {
      const { report, zip } = await roundTrip(file);
      const rejectedLines = checkReport(name, report);
      const original = tolerantParse(file.text);
      expect(original.outside.filter((line) => !rejectedLines.has(line))).toEqual([]);
      const exportedFiles = [
        ...(await bundleTexts(zip, /^(calendars|tasks)\/.*\.ics$/)),
        // Journal entries are kept as notes, each with its own calendar object.
        ...(await journalTexts(zip)),
      ];
      const exported = exportedFiles.flatMap((f) => semanticComponents(f.text));
      const expectedChildren: SemanticComponent[] = [];
      const droppedSeries = new Set<string>();
      for (const calendar of calendarsOf(original.components)) {
        const rejected = calendar.components.filter((c) => rejectedLines.has(c.line)).map(seriesOf);
        for (const series of rejected) droppedSeries.add(series);
        expectedChildren.push(...calendar.components.filter((c) => !rejected.includes(seriesOf(c))));
        // Every calendar property comes back in each file the calendar's items went to.
        for (const out of exported) {
          expect(keys(asComponents(out.properties))).toEqual(
            expect.arrayContaining(keys(asComponents(calendar.properties))),
          );
          const extra = out.properties.filter(
            (p) => !calendar.properties.some((q) => JSON.stringify(q) === JSON.stringify(p)),
          );
          expect(extra.map((p) => p.name).filter((n) => n !== 'VERSION' && n !== 'PRODID')).toEqual([]);
        }
      }
      const children = exported.flatMap((c) => c.components);
      const withoutZones = (list: SemanticComponent[]) => list.filter((c) => c.name !== 'VTIMEZONE');
      const zones = (list: SemanticComponent[]) =>
        [...new Set(list.filter((c) => c.name === 'VTIMEZONE').map(componentKey))].sort();
      expect(keys(withoutZones(children))).toEqual(keys(withoutZones(expectedChildren)));
      expect(zones(children)).toEqual(zones(expectedChildren));

      const kept = withoutLines(file.text, rejectedLines);
      // Components written with no VCALENDAR around them are read as the import salvages them.
      const before = occurrences(
        /^BEGIN:VCALENDAR/im.test(kept) ? kept : `BEGIN:VCALENDAR\r\n${kept}END:VCALENDAR\r\n`,
      );
      const after = mergeOccurrences(exportedFiles.map((f) => occurrences(f.text)));
      if (UNEXPANDABLE.has(name)) {
        expect([before, after]).toEqual(['unreadable', 'unreadable']);
      } else {
        expect(before).not.toBe('unreadable');
        const expected = Object.fromEntries(
          Object.entries(before).filter(([key]) => ![...droppedSeries].some((s) => key.endsWith(s))),
        );
        expect(after).toEqual(expected);
      }
    },
  );
});

/**
 * The original text without what the import rejected: each listed line, and
 * when it opens a component (BEGIN:…) everything up to its END.
 */
function withoutLines(text: string, lines: Set<number>): string {
  const physical = text.split(/(?<=\r\n|\n|\r(?!\n))/);
  const out: string[] = [];
  let skipping: string | null = null;
  physical.forEach((line, index) => {
    if (skipping) {
      if (new RegExp(`^END:${skipping}\\s*$`, 'i').test(line)) skipping = null;
      return;
    }
    if (!lines.has(index + 1)) {
      out.push(line);
      return;
    }
    skipping = /^BEGIN:(\S+)/i.exec(line)?.[1] ?? null;
  });
  return out.join('');
}

/** `UID` of a component (or its line when it has none): the series a rejected component takes with it. */
function seriesOf(component: LocatedComponent): string {
  const uid = component.properties.find((p) => p.name === 'UID')?.value.join(';');
  return uid === undefined ? `#${component.line}` : `:${uid}`;
}

/** The calendars of a file; components written with no VCALENDAR around them make one with no properties. */
function calendarsOf(top: LocatedComponent[]): LocatedComponent[] {
  const bare = top.filter((c) => c.name !== 'VCALENDAR');
  const wrapped = top.filter((c) => c.name === 'VCALENDAR');
  return bare.length === 0 ? wrapped : [{ name: 'VCALENDAR', line: 0, properties: [], components: bare }, ...wrapped];
}

function asComponents(properties: SemanticComponent['properties']): SemanticComponent[] {
  return properties.map((p) => ({ name: 'P', properties: [p], components: [] }));
}

function mergeOccurrences(maps: (Record<string, string[]> | 'unreadable')[]): Record<string, string[]> | 'unreadable' {
  if (maps.includes('unreadable')) return 'unreadable';
  const out: Record<string, string[]> = {};
  for (const map of maps as Record<string, string[]>[]) {
    for (const [key, list] of Object.entries(map)) out[key] = [...(out[key] ?? []), ...list].sort();
  }
  return out;
}
