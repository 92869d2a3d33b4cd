/**
 * Every vCard of the corpus (the bundled one, and the extra one when
 * HOLDFAST_EXTRA_CORPUS_DIR names it) goes through the push path.
 * Single-card files must be accepted with their text stored unchanged, or be
 * listed below with the reason they are refused. Multi-card files must be
 * refused as "one contact per item", and each of their cards accepted alone.
 */
import { AppError } from '@holdfast/protocol';
import { type CorpusFile, corpusFiles, extraCorpusDir } from '@holdfast/test-support/corpus';
import ICAL from 'ical.js';
import { describe, expect, test } from 'vitest';
import { decodeContent, normalizeContent } from './normalize-content.js';

const files = corpusFiles('vcard');

/** Single-card files refused, and why. */
const REJECTED: Record<string, RegExp> = {};

/** Cards of multi-card files that are refused on their own: file → [card index, reason]. */
// Nameless cards (e-mail-only, company-only) are real contacts and are kept, so none is refused.
const REJECTED_SPLIT: Record<string, [number, RegExp][]> = {};

/**
 * Names read by eye from files ical.js cannot parse directly (2.1 bare
 * parameters, QP soft breaks, `PHOTO;BASE64:`), or whose FN is
 * QUOTED-PRINTABLE (ical.js would return the encoded text).
 */
const EXPECTED_BUNDLED: Record<string, { uid: string | null; fn: string | null }> = {
  'android-21-photo.vcf': { uid: null, fn: 'Samir Haddad' },
  'android-21-qp-utf8.vcf': { uid: null, fn: 'Ömer Çelik' },
  // A feature phone writes N (and its reading as SOUND), no FN.
  'docomo-21-sjis-qp.vcf': { uid: null, fn: null },
  'outlook-2003-mixed-eol.vcf': { uid: null, fn: 'Marta Kowalczyk' },
  'outlook-21-cp1252.vcf': { uid: null, fn: 'Jürgen Müller' },
  'outlook-2016-cp1252-declared.vcf': { uid: null, fn: 'Zoë Günther' },
  'outlook-21-photo.vcf': { uid: null, fn: 'Ms. Eleanor Whitfield' },
  'thunderbird-68-tab-folds.vcf': { uid: null, fn: 'Ingrid Eriksen' },
};

/** The same, for files of the extra corpus (checked when it is set). */
const EXPECTED_EXTRA: Record<string, { uid: string | null; fn: string | null }> = {
  // A photo-only card: no name at all, still a contact worth keeping.
  'sabre_v21-photo-jpeg.vcf': { uid: null, fn: null },
  'aosp_v21_complicated.vcf': { uid: null, fn: 'Joe Due' },
  'aosp_v21_japanese_sjis_qp.vcf': { uid: null, fn: '安藤 ロイド 1' },
  'calendarserver_apple-ab-photo.vcf': { uid: '934731C6-1C95-4C40-BE1F-FA4215B2307B', fn: 'With Picture' },
  'eds_evolution-v21-qp-cjk.vcf': { uid: 'pas-id-3E52FE2E00000000', fn: '十城目管理大型知座' },
  'eds_nokia-v21-qp.vcf': { uid: null, fn: 'Michael Brüning' },
  'ezvcard_John_Doe_MAC_ADDRESS_BOOK.vcf': { uid: null, fn: 'Mr. John Richter,James Doe Sr.' },
  'ezvcard_John_Doe_MS_OUTLOOK.vcf': { uid: null, fn: 'Mr. John Richter James Doe Sr.' },
  'ezvcard_outlook-2003.vcf': { uid: null, fn: 'John Doe III' },
  'ezvcard_outlook-2007.vcf': { uid: null, fn: 'Mr. Michael Angstadt Jr.' },
  'folkerkinzel_greek-cp1253.vcf': { uid: null, fn: 'Βαγγέλης' },
  'folkerkinzel_outlook-cp1252-raw.vcf': { uid: null, fn: 'Ralf Rastral' },
  'folkerkinzel_outlook-cp1252-three-adr.vcf': { uid: null, fn: 'Rudi Wimmel' },
  'folkerkinzel_outlook-v21-photo.vcf': { uid: null, fn: 'Herr Max Anderer Mustermann sen.' },
  'kcontacts_netscape-lowercase.vcf': { uid: 'ebvq9Wo9rO', fn: 'ian geiser' },
  'kcontacts_ximian-evolution-1x.vcf': { uid: 'pas-id-3E136F9B00000000', fn: '' },
  'sabre_v30-photo-base64-param.vcf': { uid: null, fn: 'Test Benutzer' },
};

const EXPECTED = { ...EXPECTED_BUNDLED, ...EXPECTED_EXTRA };

const BEGIN = /^BEGIN:VCARD[ \t]*$/gim;

function cardCount(text: string): number {
  return text.match(BEGIN)?.length ?? 0;
}

/** Cuts a multi-card file at its BEGIN/END lines, keeping each card's bytes as they are. */
function splitCards(text: string): string[] {
  return text.match(/^BEGIN:VCARD[ \t]*\r*$[\s\S]*?^END:VCARD[ \t]*\r*$/gim) ?? [];
}

/**
 * What ical.js itself reads from the file, when it can read it and FN is
 * plain text. Line ends are made CRLF first: ical.js splits on LF only and
 * would leave the CR of CR/CR CR LF files in the values.
 */
function icalJsReading(text: string): { uid: string | null; fn: string | null } | null {
  if (/^FN[^:\r\n]*QUOTED-PRINTABLE/im.test(text)) return null;
  let jcal: unknown;
  try {
    jcal = ICAL.parse(text.replace(/\r*\n|\r/g, '\r\n'));
  } catch {
    return null; // ical.js cannot read it: the EXPECTED table speaks for this file.
  }
  const card = new ICAL.Component(jcal as unknown[]);
  const value = (name: string) => {
    const v = card.getFirstPropertyValue(name);
    return v === null ? null : String(v);
  };
  return { uid: value('uid'), fn: value('fn') };
}

function versionLine(text: string): string | null {
  return /^VERSION:(.*?)\s*$/im.exec(text)?.[1] ?? null;
}

function accept(text: string) {
  const result = normalizeContent('contacts', text);
  // Stored exactly as sent, and given back exactly as sent.
  expect(result.text).toBe(text);
  expect(decodeContent('contacts', result.text)).toBe(text);
  expect(result.contentType).toBe('text/vcard');
  expect(result.size).toBe(Buffer.byteLength(text, 'utf8'));
  expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(normalizeContent('contacts', text).hash).toBe(result.hash);
  return result;
}

function refusal(text: string): AppError {
  try {
    normalizeContent('contacts', text);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the push to be refused');
}

const single = files.filter((f) => cardCount(f.text) === 1);
const multi = files.filter((f) => cardCount(f.text) > 1);

describe('vCard corpus', () => {
  test('is there and every file is either single- or multi-card', () => {
    expect(files.filter((f) => f.source === 'bundled').length).toBeGreaterThanOrEqual(20);
    if (extraCorpusDir) expect(files.filter((f) => f.source === 'extra').length).toBeGreaterThanOrEqual(55);
    expect(single.length + multi.length).toBe(files.length);
    const listed = [...Object.keys(REJECTED), ...Object.keys(EXPECTED_BUNDLED)];
    if (extraCorpusDir) listed.push(...Object.keys(EXPECTED_EXTRA));
    for (const name of listed) {
      expect(single.map((f) => f.name)).toContain(name);
    }
  });

  describe.each(single.map((f) => [f.name, f] as [string, CorpusFile]))('%s', (name, file) => {
    const rejected = REJECTED[name];
    if (rejected) {
      test('is refused with a clear reason', () => {
        const error = refusal(file.text);
        expect(error.code).toBe('invalid_content');
        expect(error.message).toMatch(rejected);
      });
      return;
    }

    test('is accepted, stored unchanged, and its UID and FN are what the card says', () => {
      const { meta } = accept(file.text);
      const reading = icalJsReading(file.text);
      const expected = EXPECTED[name];
      // The hand-written table is only for files ical.js cannot speak for.
      expect(expected === undefined).toBe(reading !== null);
      expect(meta).toEqual({ ...(expected ?? reading), version: versionLine(file.text) });
    });
  });

  describe.each(multi.map((f) => [f.name, f] as [string, CorpusFile]))('%s (several cards)', (name, file) => {
    test('is refused: one contact per item', () => {
      const error = refusal(file.text);
      expect(error.code).toBe('invalid_content');
      expect(error.message).toMatch(new RegExp(`^one contact per item: found ${cardCount(file.text)} vCards`));
    });

    test('each card on its own is accepted (or listed with its reason)', () => {
      const cards = splitCards(file.text);
      expect(cards).toHaveLength(cardCount(file.text));
      const refused = new Map(REJECTED_SPLIT[name] ?? []);
      cards.forEach((cardText, index) => {
        const reason = refused.get(index);
        if (reason) {
          expect(refusal(cardText).message).toMatch(reason);
        } else {
          const { meta } = accept(cardText);
          const hasFn = /^(?:[A-Za-z0-9-]+\.)?FN[;:]/im.test(cardText);
          expect(meta?.fn === null).toBe(!hasFn);
        }
      });
    });
  });

  test('every split card listed as refused exists', () => {
    for (const [name, entries] of Object.entries(REJECTED_SPLIT)) {
      const file = multi.find((f) => f.name === name);
      expect(file).toBeDefined();
      for (const [index] of entries) expect(splitCards(file?.text ?? '')[index]).toBeDefined();
    }
  });

  test('a client that reads legacy bytes as Latin-1 gets the same verdicts, and its text is kept too', () => {
    for (const file of files.filter((f) => !f.encoding.startsWith('utf-16'))) {
      const latin1 = file.bytes.toString('latin1');
      const careful = verdict(file.text);
      expect([file.name, verdict(latin1)]).toEqual([file.name, careful]);
      if (careful === 'accepted') expect(normalizeContent('contacts', latin1).text).toBe(latin1);
    }
  });
});

function verdict(text: string): string {
  try {
    normalizeContent('contacts', text);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return error.message.replace(/:.*$/, '');
  }
}
