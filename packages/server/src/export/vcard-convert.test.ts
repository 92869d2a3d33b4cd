/**
 * vCard 2.1 / 4.0 → 3.0 (RFC 2426) as `export --vcard 3` does it. The
 * mapping is asserted rule by rule; over the corpus, every conversion made
 * says exactly what the original says and parses as 3.0, and every one
 * refused gives its reason.
 */

import { corpusFiles, extraCorpusDir } from '@holdfast/test-support/corpus';
import ICAL from 'ical.js';
import { describe, expect, test } from 'vitest';
import { readVcardFile } from '../bundle/vcard-file.js';
import { componentKey, semanticComponents } from '../content/semantic.js';
import { toVcard3 } from './vcard-convert.js';

const card = (...lines: string[]) => ['BEGIN:VCARD', ...lines, 'END:VCARD', ''].join('\r\n');

describe('2.1 → 3.0', () => {
  test('bare parameters become TYPE= (and ENCODING=), the version becomes 3.0', () => {
    expect(toVcard3(card('VERSION:2.1', 'TEL;WORK;VOICE:+1 555', 'item1.EMAIL;INTERNET;PREF:a@b.c'))).toEqual({
      text: card('VERSION:3.0', 'TEL;TYPE=WORK;TYPE=VOICE:+1 555', 'item1.EMAIL;TYPE=INTERNET;TYPE=PREF:a@b.c'),
    });
  });

  test('QUOTED-PRINTABLE is decoded with its CHARSET into escaped UTF-8 text; CHARSET goes', () => {
    const qp = card(
      'VERSION:2.1',
      'NOTE;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Caf=E9, na=EFve=0D=0Aline 2',
      'N;CHARSET=SHIFT_JIS;QUOTED-PRINTABLE:=88=C9=94=5C;=8C=5C=88=EA',
    );
    expect(toVcard3(qp)).toEqual({ text: card('VERSION:3.0', 'NOTE:Café\\, naïve\\nline 2', 'N:伊能;圭一') });
  });

  test('BASE64 becomes ENCODING=b with the line breaks taken out; TYPE stays', () => {
    const photo = card('VERSION:2.1', 'PHOTO;ENCODING=BASE64;TYPE=JPEG:QUJD', ' REVG', '');
    expect(toVcard3(photo)).toEqual({ text: card('VERSION:3.0', 'PHOTO;TYPE=JPEG;ENCODING=b:QUJDREVG') });
  });

  test('literal commas in 2.1 text are escaped; unknown X- properties and empty values are kept', () => {
    expect(toVcard3(card('VERSION:2.1', 'ORG:Smith, Jones & Co', 'X-CUSTOM;X-PARAM=1:a,b', 'TEL:'))).toEqual({
      text: card('VERSION:3.0', 'ORG:Smith\\, Jones & Co', 'X-CUSTOM;X-PARAM=1:a,b', 'TEL:'),
    });
  });

  test('long lines are folded at 75 characters', () => {
    const result = toVcard3(card('VERSION:2.1', `NOTE:${'x'.repeat(200)}`));
    expect('text' in result && result.text.split('\r\n').every((line) => line.length <= 75)).toBe(true);
  });
});

describe('4.0 → 3.0', () => {
  test('a card using only what 3.0 has is converted', () => {
    expect(toVcard3(card('VERSION:4.0', 'FN:Plain', 'N:Plain;;;;', 'TEL:+1 555'))).toEqual({
      text: card('VERSION:3.0', 'FN:Plain', 'N:Plain;;;;', 'TEL:+1 555'),
    });
  });

  test('4.0-only properties and parameters keep the original, with the reason', () => {
    expect(toVcard3(card('VERSION:4.0', 'FN:K', 'KIND:group'))).toEqual({ reason: 'KIND has no vCard 3.0 equivalent' });
    expect(toVcard3(card('VERSION:4.0', 'FN:K', 'TEL;VALUE=uri:tel:+1555'))).toEqual({
      reason: 'VALUE has no vCard 3.0 equivalent',
    });
    expect(toVcard3(card('VERSION:4.0', 'FN:K', 'EMAIL;PREF=1:a@b'))).toEqual({
      reason: 'PREF has no vCard 3.0 equivalent',
    });
  });

  test('3.0 stays as it is; other versions and broken cards are not converted', () => {
    const v3 = card('VERSION:3.0', 'FN:Three');
    expect(toVcard3(v3)).toEqual({ text: v3 });
    expect(toVcard3(card('VERSION:5.0', 'FN:Five'))).toEqual({ reason: 'no conversion from vCard version 5.0' });
    expect(toVcard3('BEGIN:VCARD\r\nFN;X="open:no\r\nEND:VCARD')).toMatchObject({
      reason: expect.stringMatching(/^unreadable: /),
    });
  });
});

describe('over the corpus', async () => {
  const cards: { name: string; text: string }[] = [];
  for (const file of corpusFiles('vcard')) {
    async function* bytes() {
      yield file.bytes;
    }
    for await (const part of readVcardFile(bytes()))
      if (part.kind === 'card') cards.push({ name: `${file.name}@${part.line}`, text: part.text });
  }

  test.each(cards.map((c) => [c.name, c.text] as const))(
    '%s converts without changing what it says, or says why not',
    (_name, text) => {
      const result = toVcard3(text);
      if ('reason' in result) {
        expect(result.reason).toMatch(
          /has no vCard 3.0 equivalent$|^the 3.0 text does not parse|^the conversion would change|^no conversion from vCard version/,
        );
        return;
      }
      const strip = (t: string) =>
        semanticComponents(t).map((c) =>
          componentKey({ ...c, properties: c.properties.filter((p) => p.name !== 'VERSION') }),
        );
      expect(strip(result.text)).toEqual(strip(text));
      if (/^VERSION:3\.0/m.test(text)) {
        expect(result.text).toBe(text);
      } else {
        expect(result.text).toMatch(/^BEGIN:VCARD\r\nVERSION:3.0\r\n/);
        expect(() => ICAL.parse(result.text)).not.toThrow();
      }
    },
  );

  test('most legacy cards do convert', () => {
    const v21 = cards.filter((c) => /^VERSION:2\.1/m.test(c.text));
    const converted = v21.filter((c) => 'text' in toVcard3(c.text));
    expect(v21.length).toBeGreaterThan(extraCorpusDir ? 20 : 6);
    expect(converted.length / v21.length).toBeGreaterThan(0.6);
  });
});
