/**
 * readVcardCard leaves to ical.js only the lines it could refuse or whose value is read; the rest it knows
 * ical.js accepts. Proven here by comparing, over every card of the corpus (and the extra corpus when
 * HOLDFAST_EXTRA_CORPUS_DIR is set) and variants of each, what it accepts and refuses, and with which
 * message, against asking ical.js about every line.
 */
import { corpusFiles, splitCards } from '@holdfast/test-support/corpus';
import { describe, expect, test } from 'vitest';
import { readVcardCard } from './vcard.js';

const outcome = (text: string, parseEveryLine: boolean) => {
  try {
    return { meta: readVcardCard(text, { parseEveryLine }).meta };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
};

/** Lines added to a card, each once: what ical.js reads as text, what it types otherwise, and what it refuses. */
const EXTRA_LINES = [
  'X-UNKNOWN:value\\;with\\,escapes\\n',
  'X-EMPTY:',
  'constructor:x',
  '__proto__:y',
  'toString:z',
  'hasOwnProperty:w',
  'item1.NOTE:grouped',
  'a.b.NOTE:two dots',
  'NOTE:trailing backslash\\',
  'NOTE:semi;colon:and,comma',
  'N:Doe;John;;;',
  'ORG:A\\;B;C',
  'CATEGORIES:a,b\\,c',
  'NICKNAME:x,y',
  'TITLE:',
  'BDAY:notadate',
  'BDAY:1970-01-01T',
  'BDAY:--0203',
  'REV:2020',
  'TEL:+1 555',
  'URL:http://example.com/a;b',
  'GEO:1.5;2.5',
  'GEO:x',
  'TZ:+01:00',
  'TZ:x',
  'PHOTO:abc',
  'KEY:abc',
  'AGENT:x',
  'LABEL:x',
  'MAILER:x',
  'CLASS:x',
  'SORT-STRING:x',
  'SOUND:x',
  'KIND:individual',
  'GENDER:M',
  'ANNIVERSARY:2000',
  'LANG:en',
  'XML:x',
  'CLIENTPIDMAP:1;urn:x',
  'IMPP:xmpp:a@b',
  'UID:second-uid',
  'FN:Second Name',
  'item2.FN:Grouped Name',
  'NOTE;X-P=1:with a parameter',
  'TEL;TYPE=CELL:+1 555',
  'TEL;CELL;VOICE:+1 555',
  'TEL;TYPE=CELL,VOICE:1',
  'TEL;type=cell;TYPE=pref:1\\,2',
  'TEL;TYPE="CELL":1',
  'TEL;TYPE=:1',
  'TEL;QUOTED-PRINTABLE:1',
  'TEL;VALUE=uri:tel:+1555',
  'TEL;TYPE=CELL:a:b;c',
  'EMAIL;TYPE=INTERNET:a@example.com',
  'EMAIL;INTERNET;PREF:a@example.com',
  'ADR;TYPE=HOME:;;1 Main St;Town;;;',
  'item1.ADR;type=WORK:;;x\\;y;;;;',
  'NOTE;TYPE=x:y',
  'BDAY;TYPE=x:1970-01-01',
  'X-FOO;TYPE=a:b',
  'X-FOO;TYPE=a^nb:c',
  'UID;TYPE=x:u',
  'FN;TYPE=x:F',
  'NOTE;:empty parameter',
  'NOTE;X-P="unclosed:quote',
  'NOTE;=v:empty parameter name',
  'NOTE;X-P:no value',
  'NOTE;VALUE=date:20200101',
  'BEGIN:VCARD',
  'END:VCARD',
  'BEGIN:X',
  'NOTE',
  ':no name',
  'VERSION:4.0',
  'VERSION:3.0',
];

function variants(card: string): string[] {
  const end = card.search(/END:VCARD\s*$/i);
  if (end === -1) return [card];
  const eol = card.includes('\r\n') ? '\r\n' : '\n';
  const head = card.slice(0, end);
  const tail = card.slice(end);
  const out = [card];
  for (const line of EXTRA_LINES) out.push(`${head}${line}${eol}${tail}`);
  // Each line of the card alone with the frame: a card of one property of every kind the corpus holds.
  const lines = head.split(/\r\n|\n/).filter((l) => l && !/^(BEGIN|VERSION)[:;]/i.test(l));
  const version = /^VERSION:.*$/im.exec(head)?.[0];
  for (const line of lines) out.push(['BEGIN:VCARD', ...(version ? [version] : []), line, 'END:VCARD', ''].join(eol));
  return out;
}

describe('vCard lines read without ical.js', () => {
  test('are accepted and refused exactly as when ical.js reads every line', () => {
    const cards = corpusFiles('vcard').flatMap((file) => splitCards(file.text));
    cards.push(
      ['BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:F', 'NOTE:n', 'END:VCARD', ''].join('\r\n'),
      ['BEGIN:VCARD', 'VERSION:3.0', 'NOTE:only a note', 'END:VCARD', ''].join('\r\n'),
      ['BEGIN:VCARD', 'VERSION:3.0', 'X-A:1', 'END:VCARD', ''].join('\r\n'),
      ['BEGIN:VCARD', 'VERSION:3.0', 'PRODID:p', 'END:VCARD', ''].join('\r\n'),
    );
    let compared = 0;
    let refused = 0;
    for (const card of cards) {
      for (const text of variants(card)) {
        const expected = outcome(text, true);
        expect(outcome(text, false), text).toEqual(expected);
        compared++;
        if ('error' in expected) refused++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(50);
  });
});
