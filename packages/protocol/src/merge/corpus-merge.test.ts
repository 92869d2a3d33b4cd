/**
 * Every file of the corpus (the bundled one, and the extra one when
 * HOLDFAST_EXTRA_CORPUS_DIR names it) goes through a real merge (both
 * replicas changed something, so the merged text is written out, not copied):
 * every property of the original must come back with the same value, next to
 * the same group members, or the file must be rejected with `invalid_content`.
 */

import { corpusFiles, extraCorpusDir, splitCards } from '@holdfast/test-support/corpus';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { lexicalValues, meaningUnits, missingFrom } from '../test-support/semantics.js';
import { mergeIcalendar } from './icalendar-merge.js';
import { icalendarRules, vcardRules } from './property-rules.js';
import { mergeVcard } from './vcard-merge.js';

/**
 * Cards ical.js cannot read, by file. The merge refuses them (nothing is
 * merged from a lossy parse); they need decoding to vCard 3.0/4.0 first.
 */
const REJECTED_VCARDS: Record<string, string> = {
  // Bundled corpus.
  'android-21-photo.vcf': 'vCard 2.1 bare parameters (TEL;CELL, PHOTO;ENCODING=BASE64;JPEG)',
  'android-21-qp-utf8.vcf': 'vCard 2.1 bare parameters (TEL;CELL;PREF), QUOTED-PRINTABLE soft line breaks',
  'docomo-21-sjis-qp.vcf': 'vCard 2.1 bare parameters (TEL;CELL, SOUND;X-IRMC-N)',
  'outlook-2003-mixed-eol.vcf': 'QUOTED-PRINTABLE soft line breaks',
  'outlook-21-cp1252.vcf': 'vCard 2.1 bare parameters (TEL;WORK;VOICE)',
  'outlook-2016-cp1252-declared.vcf': 'vCard 2.1 bare parameters (TEL;WORK;VOICE)',
  'outlook-21-photo.vcf': 'vCard 2.1 bare parameters (TEL;WORK;VOICE)',
  'thunderbird-68-tab-folds.vcf': 'vCard 2.1 bare parameters (EMAIL;INTERNET)',
  // Extra corpus.
  'aosp_v21_complicated.vcf': 'vCard 2.1 bare parameters (TEL;WORK;VOICE)',
  'aosp_v21_japanese_sjis_qp.vcf': 'QUOTED-PRINTABLE soft line breaks',
  'calendarserver_apple-ab-photo.vcf': 'bare PHOTO;BASE64 parameter',
  'eds_evolution-v21-qp-cjk.vcf': 'bare QUOTED-PRINTABLE parameter',
  'eds_nokia-v21-qp.vcf': 'vCard 2.1 empty parameter',
  'ezvcard_John_Doe_ANDROID.vcf': 'vCard 2.1 bare parameters (EMAIL;PREF)',
  'ezvcard_John_Doe_MAC_ADDRESS_BOOK.vcf': 'bare PHOTO;BASE64 parameter',
  'ezvcard_John_Doe_MS_OUTLOOK.vcf': 'vCard 2.1 bare parameters',
  'ezvcard_outlook-2003.vcf': 'QUOTED-PRINTABLE soft line breaks',
  'ezvcard_outlook-2007.vcf': 'QUOTED-PRINTABLE soft line breaks',
  'folkerkinzel_greek-cp1253.vcf': 'bare QUOTED-PRINTABLE parameter',
  'folkerkinzel_outlook-cp1252-raw.vcf': 'vCard 2.1 bare parameters',
  'folkerkinzel_outlook-cp1252-three-adr.vcf': 'vCard 2.1 bare parameters',
  'folkerkinzel_outlook-v21-photo.vcf': 'vCard 2.1 bare parameters',
  'kcontacts_netscape-lowercase.vcf': 'vCard 2.1 bare parameters (email;internet)',
  'kcontacts_v21-qp-softbreak-multi.vcf': 'QUOTED-PRINTABLE soft line breaks',
  'kcontacts_ximian-evolution-1x.vcf': 'a line without a colon (FN)',
  'sabre_v21-photo-jpeg.vcf': 'vCard 2.1 bare parameter (PHOTO;ENCODING=BASE64;JPEG)',
  'sabre_v30-photo-base64-param.vcf': 'bare PHOTO;BASE64 parameter',
};

const REJECTED_CALENDARS: Record<string, string> = {
  'icalendar_podio.ics': 'a property after END:VCALENDAR',
  'nodeical_exchange-8-timezones.ics': 'an unterminated quoted TZID parameter',
};

// Properties merged item by item may be re-joined differently; their items are checked by meaningUnits.
const LIST_VALUED = new Set(['categories', 'nickname', 'resources', 'exdate', 'rdate']);

/** Components written with no VCALENDAR around them, in one (as the import salvages them). */
function wrapped(text: string): string {
  return /^BEGIN:VCALENDAR/im.test(text) ? text : `BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${text}END:VCALENDAR\r\n`;
}

function insertBeforeLast(text: string, end: RegExp, lines: string[]): string {
  const matches = [...text.matchAll(end)];
  const last = matches[matches.length - 1];
  if (last?.index === undefined) throw new Error('no END line');
  return `${text.slice(0, last.index)}${lines.join('\r\n')}\r\n${text.slice(last.index)}`;
}

function rejection(run: () => unknown): AppError | null {
  try {
    run();
    return null;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

describe('mergeVcard on the corpus', () => {
  const files = corpusFiles('vcard');

  it('finds the corpus', () => {
    expect(files.filter((f) => f.source === 'bundled').length).toBeGreaterThanOrEqual(20);
    if (extraCorpusDir) expect(files.filter((f) => f.source === 'extra').length).toBeGreaterThanOrEqual(50);
  });

  it.each(files.map((file) => [file.name, file.text] as const))('%s', (name, text) => {
    const cards = splitCards(text);
    expect(cards.length).toBeGreaterThan(0);
    const results = cards.map((card) => {
      const local = insertBeforeLast(card, /^END:VCARD/gim, ['TEL;TYPE=CELL:+49 (0) 170 555 0199']);
      const remote = insertBeforeLast(card, /^END:VCARD/gim, [
        'item97.EMAIL;TYPE=INTERNET:merge.check@example.com',
        'item97.X-ABLabel:Merge check',
      ]);
      let merged = '';
      const error = rejection(() => {
        const result = mergeVcard(card, local, remote);
        expect(result.conflicts).toEqual([]);
        merged = result.merged;
      });
      return { card, local, remote, merged, error };
    });

    if (name in REJECTED_VCARDS) {
      expect(results.some((r) => r.error !== null)).toBe(true);
      for (const r of results) if (r.error) expect(r.error.code).toBe('invalid_content');
      return;
    }
    for (const { card, local, remote, merged, error } of results) {
      expect(error).toBeNull();
      const got = meaningUnits(merged, 'vCard', vcardRules);
      expect(missingFrom(got, meaningUnits(local, 'vCard', vcardRules))).toEqual([]);
      expect(missingFrom(got, meaningUnits(remote, 'vCard', vcardRules))).toEqual([]);
      // Independently of ical.js: every value comes back as the same text.
      expect(missingFrom(lexicalValues(merged, LIST_VALUED), lexicalValues(card, LIST_VALUED))).toEqual([]);
    }
  });
});

describe('mergeIcalendar on the corpus', () => {
  const files = corpusFiles('ical');

  it('finds the corpus', () => {
    expect(files.filter((f) => f.source === 'bundled').length).toBeGreaterThanOrEqual(20);
    if (extraCorpusDir) expect(files.filter((f) => f.source === 'extra').length).toBeGreaterThanOrEqual(60);
  });

  it.each(files.map((file) => [file.name, wrapped(file.text)] as const))('%s', (name, text) => {
    const local = insertBeforeLast(text, /^END:VCALENDAR/gim, [
      'BEGIN:VEVENT',
      'UID:merge-check-event@holdfast.test',
      'DTSTAMP:20240101T000000Z',
      'DTSTART:20240102T100000Z',
      'SUMMARY:Added on the local replica',
      'END:VEVENT',
    ]);
    const remote = insertBeforeLast(text, /^END:VCALENDAR/gim, ['X-HOLDFAST-MERGE-CHECK:remote']);
    let merged = '';
    const error = rejection(() => {
      const result = mergeIcalendar(text, local, remote);
      expect(result.conflicts).toEqual([]);
      merged = result.merged;
    });
    if (name in REJECTED_CALENDARS) {
      expect(error?.code).toBe('invalid_content');
      return;
    }
    expect(error).toBeNull();
    const got = meaningUnits(merged, 'iCalendar', icalendarRules);
    expect(missingFrom(got, meaningUnits(local, 'iCalendar', icalendarRules))).toEqual([]);
    expect(missingFrom(got, meaningUnits(remote, 'iCalendar', icalendarRules))).toEqual([]);
    expect(missingFrom(lexicalValues(merged, LIST_VALUED), lexicalValues(text, LIST_VALUED))).toEqual([]);
  });
});
