/**
 * Every iCalendar file of the corpus (the bundled one, and the extra one when
 * HOLDFAST_EXTRA_CORPUS_DIR names it) goes through the push path as one item of the collection its components belong to (VTODO-only
 * files to tasks, the rest to calendar). Each is accepted with its text
 * stored unchanged, or listed below with the reason it is refused. Files that
 * hold several events are refused as one item; each event (with its
 * overrides) is then pushed on its own and must be accepted.
 */
import { AppError, type CollectionType } from '@holdfast/protocol';
import { type CorpusFile, corpusFiles, extraCorpusDir } from '@holdfast/test-support/corpus';
import ICAL from 'ical.js';
import { describe, expect, test } from 'vitest';
import { decodeContent, normalizeContent } from './normalize-content.js';

const files = corpusFiles('ical');

const SEVERAL_EVENTS = /^one event per item: all VEVENTs must share one UID, found \d+/;
const SEVERAL_TASKS = /^one task per item: all VTODOs must share one UID, found \d+/;

/** Bundled files refused as one item, and why. */
const REJECTED_BUNDLED: Record<string, RegExp> = {
  'google-calendar-export-multi.ics': SEVERAL_EVENTS,
  'jtx-board-subtasks.ics': SEVERAL_TASKS,
  // Journal entries (notes, kept in notes collections) and a free/busy reply are not events.
  'jtx-board-vjournal.ics': /^calendar items hold VEVENTs only; found VJOURNAL at line 4$/,
  'jtx-board-note-attach.ics': /^calendar items hold VEVENTs only; found VJOURNAL at line 4$/,
  'davmail-freebusy.ics': /^calendar items hold VEVENTs only; found VFREEBUSY at line 5$/,
  // No VCALENDAR around the VTIMEZONE and VEVENT: the import salvages it, a push is refused.
  'bare-vevent-folded.ics': /^not an iCalendar object: line 1: expected BEGIN:VCALENDAR, found BEGIN:VTIMEZONE$/,
};

/** Files of the extra corpus refused as one item, and why (checked when it is set). */
const REJECTED_EXTRA: Record<string, RegExp> = {
  // Two unrelated VEVENTs, neither with UID nor RECURRENCE-ID.
  'biweekly_exchange-2010-no-uid.ics': /^one event per item: 2 VEVENTs have no RECURRENCE-ID \(lines 20, 24\)/,
  'nodeical_owa-2012.ics': /^one event per item: 4 VEVENTs have no RECURRENCE-ID \(lines 6, 25, 44, 63\)/,
  // Whole calendars: many events with their own UIDs.
  'ical4j_google-aus-holidays.ics': SEVERAL_EVENTS,
  'icaljs_google-birthdays.ics': SEVERAL_EVENTS,
  'kcal_korganizer-3.1-palm.ics': SEVERAL_EVENTS,
  'kcal_korganizer-3.2-attendees.ics': SEVERAL_EVENTS,
  'nodeical_apple-macos-partstat.ics': SEVERAL_EVENTS,
  'kcal_libkcal-vtodo-related-to.ics': SEVERAL_TASKS,
  'nodeical_owncloud-vtodo-utf8.ics': SEVERAL_TASKS,
  // Events and tasks (and journals, free/busy) mixed in one file.
  'kcal_apple-ical-1.5-events-todos.ics': /^calendar items hold VEVENTs only; found VTODO at line 36$/,
  'kcal_mozilla-calendar-1.0.ics': /^calendar items hold VEVENTs only; found VTODO at line 28$/,
  'nodeical_apple-ical-1.0-todo-journal.ics': /^calendar items hold VEVENTs only; found VTODO at line 37$/,
  // Free/busy information is neither an event nor a task.
  'icalendar_davmail-freebusy.ics': /^calendar items hold VEVENTs only; found VFREEBUSY at line 5$/,
  'nodeical_zimbra-freebusy.ics': /^calendar items hold VEVENTs only; found VFREEBUSY at line 5$/,
  // An X-COMMENT line after END:VCALENDAR, outside the calendar object.
  'icalendar_podio.ics':
    /^not an iCalendar object: line 36: X-COMMENT is outside any component \(after END:VCALENDAR\)$/,
  // DTSTART;TZID="W. Europe Standard Time:20200609T090000": the value sits inside the quotes.
  'nodeical_exchange-8-timezones.ics':
    /^not an iCalendar object: line 152: DTSTART has no ':' before its value \(the ':' is inside the quoted TZID parameter\)/,
};

const REJECTED = { ...REJECTED_BUNDLED, ...REJECTED_EXTRA };

/** Events that stay refused after splitting: file → how many, and why. */
const REJECTED_SPLIT: Record<string, [number, RegExp]> = {
  // Cut from a file with no VCALENDAR head, the event has none either.
  'bare-vevent-folded.ics': [1, /^not an iCalendar object: line 29: END:VCALENDAR without a matching BEGIN$/],
  'nodeical_exchange-8-timezones.ics': [1, /DTSTART has no ':' before its value \(the ':' is inside the quoted TZID/],
};

/** Read by eye where ical.js cannot read the file itself (BYDAY with spaces; DTSTART:20060611 without VALUE=DATE). */
const EXPECTED: Record<string, Record<string, unknown>> = {
  'icalendar_exchange-cdo.ics': {
    uid: null,
    summary: 'Sprint 25 Daily Standup',
    start: '2015-07-03T10:00:00',
    tzid: 'GMT +0100 (Standard) / GMT +0200 (Daylight)',
    hasRrule: true,
    overrides: 0,
  },
  'ical4j_zidestore.ics': {
    uid: 'skyrix://ogo-debian//11810',
    summary: 'new palm created record',
    start: '2006-06-11',
    tzid: null,
    hasRrule: false,
    overrides: 0,
  },
};

function collectionFor(text: string): CollectionType {
  return /^BEGIN:VTODO/im.test(text) && !/^BEGIN:VEVENT/im.test(text) ? 'tasks' : 'calendar';
}

/** ical.js's own parse of the text (line ends made CRLF: ical.js splits on LF only), or null. */
function icalJsParse(text: string): ICAL.Component | null {
  try {
    return new ICAL.Component(ICAL.parse(text.replace(/\r*\n|\r/g, '\r\n')) as unknown[]);
  } catch {
    return null;
  }
}

/** The fields ical.js reads for the item's master component, or null when it cannot read them. */
function icalJsReading(text: string, type: CollectionType): Record<string, unknown> | null {
  const root = icalJsParse(text);
  if (!root) return null;
  const parts = root.getAllSubcomponents(type === 'tasks' ? 'vtodo' : 'vevent');
  const master = parts.find((c) => !c.hasProperty('recurrence-id')) ?? parts[0];
  if (!master) return null;
  try {
    const text = (name: string) => {
      const value = master.getFirstPropertyValue(name);
      return value === null || String(value) === '' ? null : String(value);
    };
    const dtstart = master.getFirstProperty('dtstart');
    const tzid = dtstart?.getParameter('tzid');
    return {
      uid: text('uid'),
      summary: text('summary'),
      start: dtstart ? String(dtstart.getFirstValue()) : null,
      tzid: typeof tzid === 'string' ? tzid : null,
      hasRrule: master.hasProperty('rrule'),
      overrides: parts.filter((c) => c.hasProperty('recurrence-id')).length,
    };
  } catch {
    return null;
  }
}

function accept(type: CollectionType, text: string) {
  const result = normalizeContent(type, text);
  expect(result.text).toBe(text);
  expect(decodeContent(type, result.text)).toBe(text);
  expect(result.contentType).toBe('text/calendar');
  expect(result.size).toBe(Buffer.byteLength(text, 'utf8'));
  expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(normalizeContent(type, text).hash).toBe(result.hash);
  return result;
}

function refusal(type: CollectionType, text: string): AppError {
  try {
    normalizeContent(type, text);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the push to be refused');
}

function verdict(type: CollectionType, text: string): string {
  try {
    normalizeContent(type, text);
    return 'accepted';
  } catch (error) {
    if (error instanceof AppError) return error.message;
    throw error;
  }
}

/**
 * Splits a calendar into one calendar object per event or task, cutting the
 * original text (no re-serialising): the calendar's head, all its VTIMEZONEs,
 * and the VEVENT/VTODO blocks that share a UID (each UID-less block alone).
 */
function splitByUid(text: string): { type: CollectionType; uid: string | null; text: string }[] {
  const eol = /\r\n|\n|\r/.exec(text)?.[0] ?? '\r\n';
  const firstChild = text.search(/^BEGIN:(?!VCALENDAR)/im);
  if (firstChild === -1) return [];
  const head = text.slice(0, firstChild).replace(/[\r\n]+$/, '');
  const blocks = [...text.matchAll(/^BEGIN:(VEVENT|VTODO|VTIMEZONE)[ \t]*\r*$[\s\S]*?^END:\1[ \t]*\r*$/gim)];
  const timezones = blocks.filter((b) => b[1]?.toUpperCase() === 'VTIMEZONE').map((b) => b[0]);
  const groups = new Map<string, { type: CollectionType; uid: string | null; parts: string[] }>();
  blocks.forEach((block, index) => {
    const kind = block[1]?.toUpperCase();
    if (kind === 'VTIMEZONE') return;
    const uid = /^UID:(.*?)[ \t]*\r*$/im.exec(block[0].replace(/\r?\n[ \t]/g, ''))?.[1] ?? null;
    const key = `${kind}:${uid ?? `#${index}`}`;
    const group = groups.get(key) ?? { type: kind === 'VTODO' ? 'tasks' : 'calendar', uid, parts: [] };
    group.parts.push(block[0]);
    groups.set(key, group);
  });
  return [...groups.values()].map(({ type, uid, parts }) => ({
    type,
    uid,
    text: [head, ...timezones, ...parts, 'END:VCALENDAR', ''].join(eol),
  }));
}

describe('iCalendar corpus', () => {
  test('is there, and every listed file exists', () => {
    expect(files.filter((f) => f.source === 'bundled').length).toBeGreaterThanOrEqual(20);
    if (extraCorpusDir) expect(files.filter((f) => f.source === 'extra').length).toBeGreaterThanOrEqual(64);
    const names = files.map((f) => f.name);
    const listed = Object.keys(REJECTED_BUNDLED);
    // The other tables name files of the extra corpus.
    if (extraCorpusDir)
      listed.push(...Object.keys(REJECTED_EXTRA), ...Object.keys(REJECTED_SPLIT), ...Object.keys(EXPECTED));
    for (const name of listed) expect(names).toContain(name);
  });

  describe.each(files.map((f) => [f.name, f] as [string, CorpusFile]))('%s', (name, file) => {
    const type = collectionFor(file.text);
    const rejected = REJECTED[name];
    if (rejected) {
      test(`is refused as one ${type} item with a clear reason`, () => {
        const error = refusal(type, file.text);
        expect(error.code).toBe('invalid_content');
        expect(error.message).toMatch(rejected);
      });

      test('each event or task in it is accepted on its own (or listed with its reason)', () => {
        const items = splitByUid(file.text);
        const [refusedCount, reason] = REJECTED_SPLIT[name] ?? [0, /^$/];
        const hasItems = /^BEGIN:(VEVENT|VTODO)/im.test(file.text);
        expect(items.length > 0).toBe(hasItems);
        let refused = 0;
        for (const item of items) {
          const outcome = verdict(item.type, item.text);
          if (outcome !== 'accepted' && reason.test(outcome)) {
            refused++;
            continue;
          }
          const { meta } = accept(item.type, item.text);
          expect(meta?.uid).toBe(item.uid);
        }
        expect(refused).toBe(refusedCount);
      });
      return;
    }

    test(`is accepted as a ${type} item, stored unchanged, with the UID, summary and start ical.js reads`, () => {
      const { meta } = accept(type, file.text);
      const reading = icalJsReading(file.text, type);
      const expected = EXPECTED[name];
      // The hand-written table is only for files ical.js cannot speak for.
      expect(expected === undefined).toBe(reading !== null);
      expect(meta).toMatchObject(expected ?? reading ?? {});
    });
  });
});
