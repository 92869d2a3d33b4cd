import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ContentLineError,
  foldLine,
  formatForParser,
  parseContentLine,
  readComponents,
  unfoldLines,
  upperCase,
} from './content-lines.js';

describe('foldLine', () => {
  test('keeps every physical line within 75 octets, never splits a character, and unfolds back', () => {
    for (const line of [`DESCRIPTION:${'a'.repeat(200)}`, `SUMMARY:${'é€😀'.repeat(60)}`, 'SHORT:x']) {
      const folded = foldLine(line);
      for (const physical of folded.split('\r\n')) expect(Buffer.byteLength(physical, 'utf8')).toBeLessThanOrEqual(75);
      expect(folded).not.toContain('\uFFFD');
      expect(unfoldLines(`${folded}\r\n`).map((l) => l.text)).toEqual([line]);
    }
    expect(foldLine('SHORT:x')).toBe('SHORT:x');
    expect(foldLine(`X:${'a'.repeat(100)}`, '\n').split('\n')).toHaveLength(2);
  });
});

describe('unfoldLines', () => {
  test.each([
    ['CRLF', 'A:1\r\nB:2\r\n'],
    ['LF', 'A:1\nB:2\n'],
    ['CR', 'A:1\rB:2\r'],
    ['CR CR LF', 'A:1\r\r\nB:2\r\r\n'],
  ])('splits %s line ends', (_name, text) => {
    expect(unfoldLines(text).map((l) => l.text)).toEqual(['A:1', 'B:2']);
  });

  test('joins folds that start with a space or a TAB, removing one character', () => {
    expect(unfoldLines('DESCRIPTION:one\r\n  two\r\n\tthree\r\nX:1')).toEqual([
      { line: 1, text: 'DESCRIPTION:one twothree' },
      { line: 4, text: 'X:1' },
    ]);
  });

  test('numbers logical lines by their first physical line, skipping blank lines', () => {
    expect(unfoldLines('\r\n\r\nA:1\r\n fold\r\n\r\nB:2').map((l) => l.line)).toEqual([3, 6]);
  });

  test('strips a leading byte-order mark', () => {
    expect(unfoldLines('\uFEFFBEGIN:VCARD')[0]?.text).toBe('BEGIN:VCARD');
  });

  test('joins QUOTED-PRINTABLE soft line breaks, including an empty last piece', () => {
    const text = 'ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=\n;=\nM=C3=BCnster 21;=\n\nLABEL:x';
    expect(unfoldLines(text).map((l) => l.text)).toEqual([
      'ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;M=C3=BCnster 21;',
      'LABEL:x',
    ]);
  });

  test('bare QUOTED-PRINTABLE (2.1) counts too', () => {
    expect(unfoldLines('NOTE;QUOTED-PRINTABLE:a=\r\nb\r\nX:1').map((l) => l.text)).toEqual([
      'NOTE;QUOTED-PRINTABLE:ab',
      'X:1',
    ]);
  });

  test("a trailing '=' on a value that is not QUOTED-PRINTABLE (base64 padding) is kept", () => {
    expect(unfoldLines('PHOTO;ENCODING=BASE64:AAA=\r\nX:1').map((l) => l.text)).toEqual([
      'PHOTO;ENCODING=BASE64:AAA=',
      'X:1',
    ]);
  });
});

describe('parseContentLine', () => {
  const parse = (text: string, bareNames = false) => parseContentLine({ line: 7, text }, { bareNames });

  test('splits group, name, parameters and value', () => {
    expect(parse('item1.TEL;TYPE=CELL;PREF:+1 555')).toEqual({
      line: 7,
      group: 'item1',
      name: 'TEL',
      params: [
        { name: 'TYPE', value: 'CELL' },
        { name: null, value: 'PREF' },
      ],
      value: '+1 555',
    });
  });

  test("quoted parameter values may hold ':' and ';'", () => {
    const line = parse('DTSTART;TZID="GMT +0100 (A) / B; C:D":20150703T100000');
    expect(line.params).toEqual([{ name: 'TZID', value: '"GMT +0100 (A) / B; C:D"' }]);
    expect(line.value).toBe('20150703T100000');
  });

  test('empty parameters are dropped; the value keeps its leading space', () => {
    const line = parse('ADR;HOME;PREF;: ;;Street');
    expect(line.params).toEqual([
      { name: null, value: 'HOME' },
      { name: null, value: 'PREF' },
    ]);
    expect(line.value).toBe(' ;;Street');
  });

  test.each([
    [
      'DTSTART;TZID="W. Europe Standard Time:20200609T090000"',
      /line 7: DTSTART has no ':' before its value \(the ':' is inside the quoted TZID parameter\)/,
    ],
    ['X-FOO;X-P="open:1', /line 7: X-FOO: the quoted value of parameter X-P is never closed/],
    ['X-FOO;=bar:1', /line 7: X-FOO: a parameter with no name/],
    ['this is prose', /line 7: expected ':' or ';' after this, found ' '/],
    ['ADR', /line 7: ADR has no ':' before its value/],
    [':value', /line 7: not a content line/],
  ])('rejects %j', (text, message) => {
    expect(() => parse(text)).toThrow(message);
    expect(() => parse(text)).toThrow(ContentLineError);
  });

  test('at most 128 parameters per property', () => {
    expect(parse(`NOTE${';X'.repeat(128)}:v`).params).toHaveLength(128);
    expect(() => parse(`NOTE${';X'.repeat(129)}:v`)).toThrow(/line 7: NOTE has more than 128 parameters/);
  });

  test('a bare property name is an empty value only when allowed (vCard 2.1)', () => {
    expect(parse('FN', true)).toMatchObject({ name: 'FN', value: '', params: [] });
    expect(() => parse('FN')).toThrow(/FN has no ':'/);
  });

  test('formatForParser names bare parameters', () => {
    const line = parse('TEL;WORK;VOICE;QUOTED-PRINTABLE;X-A="q":1');
    expect(formatForParser(line)).toBe('TEL;TYPE=WORK;TYPE=VOICE;ENCODING=QUOTED-PRINTABLE;X-A="q":1');
  });
});

describe('readComponents', () => {
  test('builds the component tree', () => {
    const [calendar] = readComponents('BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:1\nEND:VEVENT\nEND:VCALENDAR\n');
    expect(calendar?.name).toBe('VCALENDAR');
    expect(calendar?.properties.map((p) => p.name)).toEqual(['VERSION']);
    expect(calendar?.components.map((c) => [c.name, c.line, c.properties.length])).toEqual([['VEVENT', 3, 1]]);
  });

  test('BEGIN/END names compare case-insensitively', () => {
    expect(readComponents('begin:vcard\nfn:x\nEND:VCARD')).toHaveLength(1);
  });

  test.each([
    ['BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR', /line 3: END:VCALENDAR does not close BEGIN:VEVENT \(line 2\)/],
    ['BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VEVENT', /line 1: BEGIN:VCALENDAR is never closed/],
    ['END:VCARD', /line 1: END:VCARD without a matching BEGIN/],
    ['FN:x\nBEGIN:VCARD\nEND:VCARD', /line 1: FN is outside any component \(before the first BEGIN\)/],
    ['BEGIN:VCARD\nEND:VCARD\nX-COMMENT:hi', /line 3: X-COMMENT is outside any component \(after END:VCARD\)/],
    ['BEGIN:\nEND:', /line 1: BEGIN without a component name/],
    [`${'BEGIN:X\n'.repeat(17)}${'END:X\n'.repeat(17)}`, /line 17: components nested more than 16 deep/],
  ])('rejects broken structure %#', (text, message) => {
    expect(() => readComponents(text)).toThrow(message);
  });
});

describe('upperCase', () => {
  test('is toUpperCase, on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(upperCase(text)).toBe(text.toUpperCase());
      }),
      { numRuns: 2000 },
    );
    expect(upperCase('straße')).toBe('STRASSE');
    expect(upperCase('TEL')).toBe('TEL');
  });
});
