/**
 * A pushed contact's field counts come from the card the write has already
 * read (contactFieldsOf); exports and bundle checks count from the text
 * (contactFields). Both must give the same counts, keys in the same order
 * (the index stores them as JSON), for every card a write accepts.
 */
import { corpusFiles, splitCards } from '@holdfast/test-support/corpus';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readComponents } from '../content/content-lines.js';
import { normalizeContent } from '../content/normalize-content.js';
import { contactFields, contactFieldsOf } from './field-counts.js';

/** The counts from the card as read, or null when the reader refuses the text or finds other than one card. */
function fromCard(text: string): string | null {
  let cards: ReturnType<typeof readComponents>;
  try {
    cards = readComponents(text, { bareNames: true });
  } catch {
    return null;
  }
  const [card] = cards;
  return cards.length === 1 && card ? JSON.stringify(contactFieldsOf(card)) : null;
}

function texts(): string[] {
  const out: string[] = [];
  for (const file of corpusFiles('vcard')) {
    out.push(file.text);
    const cards = splitCards(file.text);
    if (cards.length > 1) out.push(...cards);
  }
  return out;
}

/** The same card with other line ends and every line folded after `at` characters (tabs or spaces). */
function variant(text: string, eol: string, at: number, fold: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => (line.length > at ? `${line.slice(0, at)}${eol}${fold}${line.slice(at)}` : line))
    .join(eol);
}

describe('field counts from the card as read', () => {
  const corpus = texts();

  test('equal the counts from the text over the whole corpus, and in several line forms', () => {
    let compared = 0;
    for (const text of corpus) {
      for (const form of [
        text,
        variant(text, '\n', 10, ' '),
        variant(text, '\r', 3, '\t'),
        variant(text, '\r\n', 1, ' '),
      ]) {
        const counted = fromCard(form);
        if (counted === null) continue;
        expect(counted, form).toBe(JSON.stringify(contactFields(form)));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(4 * 20);
  });

  test('are what a pushed contact carries to the index', () => {
    let accepted = 0;
    for (const text of corpus) {
      let listing: ReturnType<typeof normalizeContent>['listing'];
      try {
        listing = normalizeContent('contacts', text).listing;
      } catch {
        continue;
      }
      expect(JSON.stringify(listing?.fields), text).toBe(JSON.stringify(contactFields(text)));
      accepted++;
    }
    expect(accepted).toBeGreaterThan(20);
  });

  const line = fc.constantFrom(
    'VERSION:3.0',
    'FN:Ada',
    'FN',
    'N:Lovelace;Ada;;;',
    'TEL;TYPE=CELL:+1 555 0100',
    'tel;work;voice:+1 555 0101',
    'item1.TEL:+1 555 0102',
    'item1.X-ABLabel:mobile',
    'EMAIL;INTERNET:ada@example.com',
    'ADR;HOME;;:;;1 Main St',
    'URL:https://example.com',
    'IMPP:xmpp:ada@example.com',
    'X-AIM:ada',
    'x-skype-username:ada',
    'X-MS-IMADDRESS:ada@example.com',
    'PHOTO;ENCODING=b;TYPE=JPEG:AAAA',
    'PHOTO;BASE64:AAAA==',
    'NICKNAME:Countess',
    'NOTE;ENCODING=QUOTED-PRINTABLE:one=\r\ntwo=\r\n',
    'NOTE;QUOTED-PRINTABLE:a=3D=\r\nb',
    'BDAY:1815-12-10',
    'ORG:Analytical;Engines',
    'g.BEGIN:odd',
    'g.END:odd',
    'AGENT:',
    'BEGIN:VCARD',
    'END:VCARD',
    'X-CUSTOM;X-PARAM="a:b":value',
    ' folded on',
    '\tfolded on',
    '',
  );

  test('equal the counts from the text on generated cards', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 25 }),
        fc.constantFrom('\r\n', '\n', '\r'),
        fc.boolean(),
        (lines, eol, bom) => {
          const text = `${bom ? '\uFEFF' : ''}BEGIN:VCARD${eol}${lines.join(eol)}${eol}END:VCARD${eol}`;
          const counted = fromCard(text);
          if (counted === null) return;
          expect(counted).toBe(JSON.stringify(contactFields(text)));
          compared++;
        },
      ),
      { numRuns: 3000 },
    );
    // Most generated cards are readable; the nested and malformed ones are what the rest are for.
    expect(compared).toBeGreaterThan(1000);
  });
});
