import { describe, expect, test } from 'vitest';
import { type CalendarSlice, splitCalendarFile } from './icalendar-file.js';
import { physicalLines } from './line-reader.js';
import { type CardSlice, type FileProblem, readVcardFile } from './vcard-file.js';

async function* chunks(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function lines(data: string | Buffer, size = 3, max = 1000) {
  const out = [];
  for await (const line of physicalLines(chunks(Buffer.from(data), size), max)) out.push(line);
  return out;
}

async function cards(data: string | Buffer, size = 5): Promise<(CardSlice | FileProblem)[]> {
  const out: (CardSlice | FileProblem)[] = [];
  for await (const part of readVcardFile(chunks(Buffer.from(data), size))) out.push(part);
  return out;
}

const card = (name: string, eol = '\r\n') => ['BEGIN:VCARD', 'VERSION:3.0', `FN:${name}`, 'END:VCARD', ''].join(eol);

describe('physicalLines', () => {
  test('splits at CRLF, LF and lone CR, keeping each line raw, whatever the chunking', async () => {
    const text = 'a\r\nb\nc\rd\r\r\ne';
    for (const size of [1, 2, 3, 100]) {
      const found = await lines(text, size);
      expect(found.map((l) => l.raw.toString())).toEqual(['a\r\n', 'b\n', 'c\r', 'd\r', '\r\n', 'e']);
      expect(found.map((l) => l.no)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  test('an over-long line is reported once, with only its start kept', async () => {
    const found = await lines(`short\n${'x'.repeat(5000)}\nafter\n`, 64, 100);
    expect(found.map((l) => [l.tooLong, l.raw.length <= 100])).toEqual([
      [false, true],
      [true, true],
      [false, true],
    ]);
    expect(found[2]?.ascii).toBe('after');
  });
});

describe('readVcardFile', () => {
  test('cuts a file into cards, each exactly its own text', async () => {
    const parts = await cards(card('Ada') + card('Grace', '\n'));
    expect(parts).toEqual([
      { kind: 'card', line: 1, text: card('Ada'), encoding: 'utf-8' },
      { kind: 'card', line: 5, text: card('Grace', '\n'), encoding: 'utf-8' },
    ]);
  });

  test('decodes each card by its own charset', async () => {
    const latin = Buffer.concat([
      Buffer.from('BEGIN:VCARD\r\nFN:Ren'),
      Buffer.from([0xe9]),
      Buffer.from('\r\nEND:VCARD\r\n'),
    ]);
    const sjis = Buffer.concat([
      Buffer.from('BEGIN:VCARD\r\nFN;CHARSET=SHIFT_JIS:'),
      Buffer.from([0x88, 0xc9, 0x94, 0x5c]),
      Buffer.from('\r\nEND:VCARD\r\n'),
    ]);
    const parts = (await cards(Buffer.concat([latin, Buffer.from(card('Ada')), sjis]))) as CardSlice[];
    expect(parts.map((p) => [p.encoding, /FN[^:]*:(.*)/.exec(p.text)?.[1]])).toEqual([
      ['windows-1252', 'René'],
      ['utf-8', 'Ada'],
      ['shift_jis', '伊能'],
    ]);
  });

  test('reads UTF-16 files, with or without a byte order mark', async () => {
    const text = card('Zoë 😀') + card('名前');
    for (const data of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      Buffer.from(text, 'utf16le'),
    ]) {
      const parts = (await cards(data, 7)) as CardSlice[];
      expect(parts.map((p) => p.text)).toEqual([card('Zoë 😀'), card('名前')]);
    }
  });

  test('keeps a nested 2.1 AGENT card inside its card', async () => {
    const agent = [
      'BEGIN:VCARD',
      'FN:Boss',
      'AGENT:',
      'BEGIN:VCARD',
      'FN:Assistant',
      'END:VCARD',
      'END:VCARD',
      '',
    ].join('\r\n');
    expect(await cards(agent)).toEqual([{ kind: 'card', line: 1, text: agent, encoding: 'utf-8' }]);
  });

  test('reports text outside cards, once per run of lines, and cards never closed', async () => {
    const parts = await cards(`junk\nmore junk\n${card('Ada')}\nstray\nBEGIN:VCARD\r\nFN:Cut off`);
    expect(parts).toEqual([
      { kind: 'problem', line: 1, reason: "lines 1-2: 2 line(s) outside any vCard ('junk'); not imported" },
      { kind: 'card', line: 3, text: card('Ada'), encoding: 'utf-8' },
      { kind: 'problem', line: 8, reason: "line 8: 1 line(s) outside any vCard ('stray'); not imported" },
      {
        kind: 'problem',
        line: 9,
        reason: 'BEGIN:VCARD at line 9 is never closed (no END:VCARD before the end of the file; truncated?)',
      },
    ]);
  });

  test('refuses a card over 8 MiB without holding it, and goes on with the next', async () => {
    const huge = `BEGIN:VCARD\r\nPHOTO;ENCODING=b:${'A'.repeat(9 * 1024 * 1024)}\r\nEND:VCARD\r\n`;
    const parts = await cards(huge + card('After'), 1 << 16);
    expect(parts).toEqual([
      { kind: 'problem', line: 1, reason: 'the vCard starting at line 1 is larger than 8 MiB; not imported' },
      { kind: 'card', line: 4, text: card('After'), encoding: 'utf-8' },
    ]);
  });
});

const cal = (...body: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//EN', ...body, 'END:VCALENDAR', ''].join('\r\n');
const zone = (tzid: string) => [
  'BEGIN:VTIMEZONE',
  `TZID:${tzid}`,
  'BEGIN:STANDARD',
  'DTSTART:19700101T000000',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'END:VTIMEZONE',
];
const event = (uid: string | null, extra: string[] = []) => [
  'BEGIN:VEVENT',
  ...(uid ? [`UID:${uid}`] : []),
  'DTSTAMP:20240101T000000Z',
  ...extra,
  'END:VEVENT',
];

function items(text: string) {
  return splitCalendarFile(Buffer.from(text)) as (CalendarSlice | FileProblem)[];
}

describe('splitCalendarFile', () => {
  test('one item per UID: the master with its overrides wherever they are, and only the time zones it uses', () => {
    const text = cal(
      ...zone('Europe/Berlin'),
      ...zone('America/New_York'),
      ...event('a', ['DTSTART;TZID=Europe/Berlin:20240101T090000', 'RRULE:FREQ=DAILY']),
      ...event('b', ['DTSTART;TZID="America/New_York":20240101T090000']),
      ...event('a', ['RECURRENCE-ID;TZID=Europe/Berlin:20240102T090000', 'DTSTART;TZID=Europe/Berlin:20240102T100000']),
    );
    const found = items(text) as CalendarSlice[];
    expect(found.map((i) => [i.kind, i.uid, i.line])).toEqual([
      ['event', 'a', 20],
      ['event', 'b', 26],
    ]);
    expect(found[0]?.text).toBe(
      cal(
        ...zone('Europe/Berlin'),
        ...event('a', ['DTSTART;TZID=Europe/Berlin:20240101T090000', 'RRULE:FREQ=DAILY']),
        ...event('a', [
          'RECURRENCE-ID;TZID=Europe/Berlin:20240102T090000',
          'DTSTART;TZID=Europe/Berlin:20240102T100000',
        ]),
      ),
    );
    expect(found[1]?.text).toBe(
      cal(...zone('America/New_York'), ...event('b', ['DTSTART;TZID="America/New_York":20240101T090000'])),
    );
  });

  test('tasks are tasks, components without a UID stand alone, and unused zones and X- components go with the first item', () => {
    const text = cal(
      ...zone('Unused'),
      ...event(null),
      ...event(null),
      'BEGIN:VTODO',
      'UID:t',
      'END:VTODO',
      'BEGIN:X-THING',
      'END:X-THING',
    );
    const found = items(text) as CalendarSlice[];
    expect(found.map((i) => [i.kind, i.uid])).toEqual([
      ['event', null],
      ['event', null],
      ['task', 't'],
    ]);
    expect(found[0]?.text).toContain('TZID:Unused');
    expect(found[0]?.text).toContain('BEGIN:X-THING');
    expect(found[1]?.text).not.toContain('TZID:Unused');
  });

  test('journals are notes; free/busy, broken nesting and text outside the calendar are problems; the rest goes on', () => {
    const deep = [
      ...Array.from({ length: 20 }, () => 'BEGIN:X-DEEP'),
      ...Array.from({ length: 20 }, () => 'END:X-DEEP'),
    ];
    const text = `${cal(
      ...event('ok'),
      'BEGIN:VJOURNAL',
      'UID:j',
      'END:VJOURNAL',
      'BEGIN:VFREEBUSY',
      'END:VFREEBUSY',
      'BEGIN:VEVENT',
      ...deep,
      'END:VEVENT',
    )}X-AFTER:1\r\n`;
    const found = items(text);
    expect(found.map((i) => (i.kind === 'problem' ? i.reason : i.uid))).toEqual([
      'ok',
      'j',
      'VFREEBUSY at line 11: a free/busy list is worked out from the events it covers (Holdfast answers free/busy queries from its calendars), so there is nothing to keep',
      'VEVENT at line 13: components nested more than 16 deep at line 29; not imported',
      "line 56 is outside any VCALENDAR ('X-AFTER:1'); not imported",
    ]);
    expect(found.map((i) => i.kind)).toEqual(['event', 'note', 'problem', 'problem', 'problem']);
    expect(found.find((i) => i.kind === 'problem' && i.line === 11)).toMatchObject({ skipped: true });
  });

  test('components with no VCALENDAR around them are salvaged; stray text is reported by logical line', () => {
    const text = [
      'X-NOTE:written by hand,',
      ' and folded',
      'BEGIN:VEVENT',
      'UID:bare',
      'DTSTART',
      ' ;TZID=US-Eastern:20240105T090000',
      'SUMMARY:No wrapper',
      'END:VEVENT',
      'BEGIN:VTODO',
      'UID:bare-task',
      'END:VTODO',
      '',
    ].join('\r\n');
    const found = items(text);
    expect(found.map((i) => (i.kind === 'problem' ? i.reason : `${i.kind} ${i.uid}`))).toEqual([
      "line 1 is outside any VCALENDAR ('X-NOTE:written by hand,and folded'); not imported",
      'event bare',
      'task bare-task',
    ]);
    const event = found[1] as { text: string };
    expect(event.text).toBe(
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Holdfast//Import//EN',
        'BEGIN:VEVENT',
        'UID:bare',
        'DTSTART',
        ' ;TZID=US-Eastern:20240105T090000',
        'SUMMARY:No wrapper',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    );
  });

  test('a calendar cut short keeps its complete events and reports the cut one', () => {
    const text = ['BEGIN:VCALENDAR', 'VERSION:2.0', ...event('whole'), 'BEGIN:VEVENT', 'UID:cut', 'SUMMARY:half'].join(
      '\n',
    );
    const found = items(text);
    expect(found.map((i) => (i.kind === 'problem' ? i.reason : i.text))).toEqual([
      ['BEGIN:VCALENDAR', 'VERSION:2.0', ...event('whole'), 'END:VCALENDAR', ''].join('\n'),
      'BEGIN:VEVENT at line 7 is never closed (the file ends first; truncated?); not imported',
    ]);
  });

  test('a file with no calendar says so', () => {
    expect(items('hello')).toEqual([
      { kind: 'problem', line: 1, reason: "line 1 is outside any VCALENDAR ('hello'); not imported" },
    ]);
    expect(items('')).toEqual([
      { kind: 'problem', line: 1, reason: 'not an iCalendar file: no BEGIN:VCALENDAR found' },
    ]);
  });
});
