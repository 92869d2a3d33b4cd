import { type ContentComponent, readComponents } from '@holdfast/protocol';
import { corpusFiles } from '@holdfast/test-support/corpus';
import { describe, expect, test } from 'vitest';
import { addCounts, calendarFields, contactFields, diffCounts } from '../bundle/field-counts.js';
import {
  componentKey,
  describeProperty,
  diffProperties,
  semanticComponents,
  semanticProperty,
  semanticValue,
} from './semantic.js';

const key = (text: string) => semanticComponents(text).map(componentKey);

describe('semantic comparison', () => {
  test('ignores folding, line ends, name case, parameter order, escaping, QP, CHARSET and base64 line breaks', () => {
    const a =
      'BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.TEL;TYPE=CELL,VOICE:+1 555\r\nNOTE:a\\, b\\nc\r\nPHOTO;ENCODING=b;TYPE=JPEG:QUJD\r\n REVG\r\nEND:VCARD\r\n';
    const b =
      'begin:vcard\nversion:3.0\nITEM1.tel;type=voice;type=cell:+1 555\nnote:a, b\\Nc\nphoto;type=JPEG;encoding=B:QUJDREVG\nend:vcard\n';
    expect(key(a)).toEqual(key(b));
    const qp =
      'BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:caf=E9 =\r\nau lait\r\nEND:VCARD\r\n';
    const plain = 'BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE:café au lait\r\nEND:VCARD\r\n';
    expect(key(qp)).toEqual(key(plain));
  });

  test('keeps structure, empty values and duplicates apart', () => {
    const base = 'BEGIN:VCARD\r\nN:Doe;John;;;\r\nTEL:1\r\nTEL:1\r\nEND:VCARD';
    expect(key(base)).not.toEqual(key(base.replace('N:Doe;John;;;', 'N:Doe\\;John;;;')));
    expect(key(base)).not.toEqual(key(base.replace('TEL:1\r\nTEL:1', 'TEL:1')));
    expect(key('BEGIN:VCARD\r\nTEL:\r\nEND:VCARD')).not.toEqual(key('BEGIN:VCARD\r\nEND:VCARD'));
    expect(key(base)).not.toEqual(key(base.replace('TEL:1', 'item2.TEL:1')));
  });

  test('diffProperties counts each occurrence and describes what is missing or added', () => {
    const [before] = semanticComponents('BEGIN:VCARD\r\nTEL;TYPE=cell:1\r\nTEL;TYPE=cell:1\r\nEMAIL:a@b\r\nEND:VCARD');
    const [after] = semanticComponents('BEGIN:VCARD\r\nTEL;TYPE=CELL:1\r\nEMAIL:a@c\r\nEND:VCARD');
    const { missing, added } = diffProperties(before?.properties ?? [], after?.properties ?? []);
    expect(missing.map((p) => describeProperty(p))).toEqual(['TEL;TYPE=CELL: 1', 'EMAIL: a@b']);
    expect(added.map((p) => describeProperty(p))).toEqual(['EMAIL: a@c']);
  });
});

describe('field counts', () => {
  test('count a contact’s fields, legacy IM properties as impp, grouped properties by their name', () => {
    const card = [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:X',
      'item1.TEL:1',
      'TEL:2',
      'EMAIL:a@b',
      'item2.ADR:;;street;;;;',
      'X-ICQ:123',
      'IMPP:xmpp:a@b',
      'PHOTO;ENCODING=b:QUJD',
      'NICKNAME:Ex',
      'item1.X-ABLabel:_$!<Mobile>!$_',
      'END:VCARD',
    ].join('\r\n');
    expect(contactFields(card)).toEqual({
      properties: 11,
      tel: 2,
      email: 1,
      adr: 1,
      impp: 2,
      photo: 1,
      nickname: 1,
      withTel: 1,
    });
    expect(contactFields('BEGIN:VCARD\r\nFN:Y\r\nEND:VCARD')).toEqual({ properties: 1 });
  });

  test('count an event’s components, rules, overrides, alarms and attendees, not its time zones', () => {
    const ics = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VTIMEZONE',
      'TZID:X',
      'BEGIN:STANDARD',
      'RRULE:FREQ=YEARLY',
      'END:STANDARD',
      'END:VTIMEZONE',
      'BEGIN:VEVENT',
      'UID:a',
      'RRULE:FREQ=DAILY',
      'EXDATE:20240102T000000Z',
      'ATTENDEE:mailto:a@b',
      'BEGIN:VALARM',
      'ACTION:EMAIL',
      'ATTENDEE:mailto:c@d',
      'END:VALARM',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:a',
      'RECURRENCE-ID:20240103T000000Z',
      'END:VEVENT',
      'END:VCALENDAR',
    ].join('\r\n');
    expect(calendarFields(ics)).toEqual({
      components: 2,
      properties: 8,
      rrule: 1,
      exdate: 1,
      attendees: 2,
      alarms: 1,
      overrides: 1,
      withRrule: 1,
    });
  });

  test('diffCounts names every field whose count differs', () => {
    const total = { tel: 1 };
    addCounts(total, { tel: 2, email: 1, zero: 0 });
    expect(total).toEqual({ tel: 3, email: 1 });
    expect(diffCounts({ tel: 3, email: 1 }, { tel: 2, adr: 1, email: 1 })).toEqual([
      { field: 'adr', expected: 0, actual: 1 },
      { field: 'tel', expected: 3, actual: 2 },
    ]);
  });
});

describe('semanticValue', () => {
  const lines = (component: ContentComponent): ContentComponent['properties'] => [
    ...component.properties,
    ...component.components.flatMap(lines),
  ];
  const outcome = (read: () => string[]) => {
    try {
      return { value: read() };
    } catch (error) {
      return { error: String(error) };
    }
  };

  test('gives the value semanticProperty gives, for every line of the corpus and of parameter variants', () => {
    const texts = [
      ...corpusFiles('vcard').map((f) => f.text),
      ...corpusFiles('ical').map((f) => f.text),
      // ENCODING and CHARSET repeated, bare, quoted and in either order: the first of each counts.
      'BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;QUOTED-PRINTABLE;CHARSET=UTF-8:caf=C3=A9\r\n' +
        'NOTE;CHARSET="ISO-8859-1";ENCODING=quoted-printable;ENCODING=B:caf=E9\r\n' +
        'NOTE;ENCODING=B;ENCODING=QUOTED-PRINTABLE:QUJD\r\nPHOTO;BASE64:QU JD\r\nTEL;CELL;ENCODING=8BIT:1\\;2\r\n' +
        'NOTE;CHARSET=UTF-8;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:=C3=A9\r\nEND:VCARD\r\n',
    ];
    let compared = 0;
    for (const text of texts) {
      let components: ContentComponent[];
      try {
        components = readComponents(text, { bareNames: true });
      } catch {
        continue;
      }
      for (const line of components.flatMap(lines)) {
        expect(outcome(() => semanticValue(line))).toEqual(outcome(() => semanticProperty(line).value));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  test('splits at each unescaped semicolon, with or without escapes in the value', () => {
    const [card] = readComponents(
      'BEGIN:VCARD\r\nN:Doe;John;;;\r\nN:;\r\nN:\r\nN:Doe\\;x;J\\,r\\\\;\\nb\\\r\nEND:VCARD\r\n',
    );
    expect(card?.properties.map(semanticValue)).toEqual([
      ['Doe', 'John', '', '', ''],
      ['', ''],
      [''],
      ['Doe;x', 'J,r\\', '\nb\\'],
    ]);
  });
});
