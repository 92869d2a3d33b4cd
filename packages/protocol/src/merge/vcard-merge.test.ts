import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { type ContentLine, parseContent } from './content-tree.js';
import { mergeVcard } from './vcard-merge.js';

const card = (...lines: string[]) => ['BEGIN:VCARD', 'VERSION:3.0', ...lines, 'END:VCARD', ''].join('\r\n');
const card4 = (...lines: string[]) => ['BEGIN:VCARD', 'VERSION:4.0', ...lines, 'END:VCARD', ''].join('\r\n');

function lines(text: string, name?: string): readonly ContentLine[] {
  const all = parseContent(text, 'vCard').lines;
  return name === undefined ? all : all.filter((line) => line.name === name);
}

function values(text: string, name: string): string[] {
  return lines(text, name).map((line) => line.value);
}

/** Each group as `label → value` of its non-label member. */
function labelled(text: string): Record<string, string> {
  const groups = new Map<string, ContentLine[]>();
  for (const line of lines(text)) {
    if (line.group !== null) groups.set(line.group, [...(groups.get(line.group) ?? []), line]);
  }
  const out: Record<string, string> = {};
  for (const members of groups.values()) {
    const label = members.find((line) => line.name === 'x-ablabel')?.value ?? '(none)';
    const value = members.find((line) => line.name !== 'x-ablabel');
    out[label] = `${value?.name.toUpperCase()}:${value?.value}`;
  }
  return out;
}

function appError(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

const base = card(
  'FN:Ann Example',
  'N:Example;Ann;;;',
  'TEL;TYPE=CELL:+1 (555) 010-0100',
  'EMAIL;TYPE=INTERNET:ann@example.com',
  'NOTE:Met at the conference',
);

describe('mergeVcard: single-valued fields', () => {
  it('takes the side that changed a field', () => {
    const local = base.replace('FN:Ann Example', 'FN:Ann B. Example');
    const remote = base.replace('NOTE:Met at the conference', 'NOTE:Met in Lisbon');
    const { merged, conflicts } = mergeVcard(base, local, remote);
    expect(values(merged, 'fn')).toEqual(['Ann B. Example']);
    expect(values(merged, 'note')).toEqual(['Met in Lisbon']);
    expect(conflicts).toEqual([]);
  });

  it('gives a field both sides changed to the later write and reports the other value', () => {
    const local = base.replace('FN:Ann Example', 'FN:Ann Local');
    const remote = base.replace('FN:Ann Example', 'FN:Ann Remote').replace('EMAIL;', 'EMAIL;TYPE=HOME;');
    const later = mergeVcard(base, local, remote, { localTime: 20, remoteTime: 10 });
    expect(values(later.merged, 'fn')).toEqual(['Ann Local']);
    expect(later.conflicts).toEqual([
      {
        path: [],
        property: 'FN',
        group: null,
        key: null,
        kind: 'concurrent_edit',
        winner: 'local',
        winningValue: 'FN:Ann Local',
        losingValue: 'FN:Ann Remote',
      },
    ]);
    const earlier = mergeVcard(base, local, remote, { localTime: 10, remoteTime: 20 });
    expect(values(earlier.merged, 'fn')).toEqual(['Ann Remote']);
    expect(earlier.conflicts[0]).toMatchObject({ winner: 'remote', losingValue: 'FN:Ann Local' });
  });

  it('lets remote (the server) win ties and missing times, so every replica agrees', () => {
    const local = base.replace('FN:Ann Example', 'FN:Ann Local');
    const remote = base.replace('FN:Ann Example', 'FN:Ann Remote');
    expect(values(mergeVcard(base, local, remote).merged, 'fn')).toEqual(['Ann Remote']);
    expect(values(mergeVcard(base, local, remote, { localTime: 5, remoteTime: 5 }).merged, 'fn')).toEqual([
      'Ann Remote',
    ]);
    expect(values(mergeVcard(base, local, remote, { localTime: 5 }).merged, 'fn')).toEqual(['Ann Remote']);
  });

  it('keeps an edited field the other side deleted, and says so', () => {
    const local = base.replace('NOTE:Met at the conference\r\n', '');
    const remote = base.replace('NOTE:Met at the conference', 'NOTE:Met at the conference; owes me lunch');
    const { merged, conflicts } = mergeVcard(base, local, remote, { localTime: 99, remoteTime: 1 });
    expect(values(merged, 'note')).toEqual(['Met at the conference; owes me lunch']);
    expect(conflicts).toEqual([
      expect.objectContaining({ property: 'NOTE', kind: 'edit_over_delete', winner: 'remote', losingValue: null }),
    ]);
  });

  it('deletes a field one side removed and the other left alone', () => {
    const local = base.replace('NOTE:Met at the conference\r\n', '');
    const remote = base.replace('FN:Ann Example', 'FN:Ann B. Example');
    const { merged } = mergeVcard(base, local, remote);
    expect(values(merged, 'note')).toEqual([]);
    expect(values(merged, 'fn')).toEqual(['Ann B. Example']);
  });

  it('treats repeated single-valued lines (two ORG, two PHOTO) as one field, keeping all of them', () => {
    const b = card('FN:A', 'ORG:Acme', 'ORG:Acme Labs;Research', 'TITLE:Engineer');
    const local = b.replace('TITLE:Engineer', 'TITLE:Lead Engineer');
    const remote = b.replace('FN:A', 'FN:Ann');
    const { merged } = mergeVcard(b, local, remote);
    expect(values(merged, 'org')).toEqual(['Acme', 'Acme Labs;Research']);
    expect(values(merged, 'title')).toEqual(['Lead Engineer']);
  });

  it('takes REV and PRODID from the later write without reporting them', () => {
    const b = card('FN:A', 'REV:2024-01-01T00:00:00Z', 'PRODID:-//Apple Inc.//iOS 17//EN');
    const local = card('FN:A', 'TEL:111', 'REV:2024-02-01T00:00:00Z', 'PRODID:-//Apple Inc.//iOS 17//EN');
    const remote = card('FN:A', 'TEL:222', 'REV:2024-03-01T00:00:00Z', 'PRODID:+//IDN bitfire.at//DAVx5/4.3');
    const { merged, conflicts } = mergeVcard(b, local, remote, { localTime: 1, remoteTime: 2 });
    expect(values(merged, 'rev')).toEqual(['2024-03-01T00:00:00Z']);
    expect(values(merged, 'prodid')).toEqual(['+//IDN bitfire.at//DAVx5/4.3']);
    expect(conflicts).toEqual([]);
  });
});

describe('mergeVcard: multi-valued fields', () => {
  it('keeps values either side added', () => {
    const local = base.replace('END:VCARD', 'TEL;TYPE=WORK:+1 555 010 0200\r\nEND:VCARD');
    const remote = base.replace('END:VCARD', 'EMAIL;TYPE=WORK:ann@work.example\r\nEND:VCARD');
    const { merged, conflicts } = mergeVcard(base, local, remote);
    expect(values(merged, 'tel')).toEqual(['+1 (555) 010-0100', '+1 555 010 0200']);
    expect(values(merged, 'email')).toEqual(['ann@example.com', 'ann@work.example']);
    expect(conflicts).toEqual([]);
  });

  it('treats the same number or address written differently as one value', () => {
    const local = base.replace('+1 (555) 010-0100', 'tel:+1-555-010-0100');
    const remote = base
      .replace('ann@example.com', 'Ann@Example.COM')
      .replace('END:VCARD', 'TEL:+15550100100\r\nEND:VCARD');
    const { merged } = mergeVcard(base, local, remote);
    expect(values(merged, 'tel')).toEqual(['tel:+1-555-010-0100', '+15550100100']);
    expect(values(merged, 'email')).toEqual(['Ann@Example.COM']);
  });

  it('removes a value one side deleted and the other left exactly as it was', () => {
    const local = base.replace('TEL;TYPE=CELL:+1 (555) 010-0100\r\n', '');
    const remote = base.replace('FN:Ann Example', 'FN:Ann B. Example');
    const { merged, conflicts } = mergeVcard(base, local, remote);
    expect(values(merged, 'tel')).toEqual([]);
    expect(conflicts).toEqual([]);
  });

  it('keeps a value one side deleted while the other edited it (type, label or formatting)', () => {
    const local = base.replace('TEL;TYPE=CELL:+1 (555) 010-0100\r\n', '');
    for (const remote of [
      base.replace('TEL;TYPE=CELL:', 'TEL;TYPE=WORK:'),
      base.replace('+1 (555) 010-0100', '+1 555 010 0100'),
      base.replace('TEL;TYPE=CELL:+1 (555) 010-0100', 'item1.TEL;TYPE=CELL:+1 (555) 010-0100\r\nitem1.X-ABLabel:Boss'),
    ]) {
      const { merged, conflicts } = mergeVcard(base, local, remote, { localTime: 2, remoteTime: 1 });
      expect(lines(merged, 'tel')).toEqual(lines(remote, 'tel'));
      expect(conflicts).toEqual([
        expect.objectContaining({ property: 'TEL', key: '+15550100100', kind: 'edit_over_delete', winner: 'remote' }),
      ]);
    }
  });

  it('gives a value both sides re-typed differently to the later write, reporting the other', () => {
    const local = base.replace('TEL;TYPE=CELL:', 'TEL;TYPE=HOME:');
    const remote = base.replace('TEL;TYPE=CELL:', 'TEL;TYPE=WORK:');
    const { merged, conflicts } = mergeVcard(base, local, remote, { localTime: 1, remoteTime: 2 });
    expect(lines(merged, 'tel').map((line) => line.params.type)).toEqual(['WORK']);
    expect(conflicts).toEqual([
      expect.objectContaining({
        property: 'TEL',
        key: '+15550100100',
        kind: 'concurrent_edit',
        winningValue: 'TEL;TYPE=WORK:+1 (555) 010-0100',
        losingValue: 'TEL;TYPE=HOME:+1 (555) 010-0100',
      }),
    ]);
  });

  it('keeps both numbers when both sides changed the same number to different ones', () => {
    const local = base.replace('+1 (555) 010-0100', '+1 555 010 0111');
    const remote = base.replace('+1 (555) 010-0100', '+1 555 010 0222');
    expect(values(mergeVcard(base, local, remote).merged, 'tel').sort()).toEqual([
      '+1 555 010 0111',
      '+1 555 010 0222',
    ]);
  });

  it('keeps duplicates (Roundcube writes the same TEL eight times)', () => {
    const b = card('FN:A', 'TEL;TYPE=home:555123789', 'TEL;TYPE=home:555123789', 'TEL;TYPE=CELL:0123 456 789');
    const local = b.replace('END:VCARD', 'EMAIL:a@example.com\r\nEND:VCARD');
    const remote = b.replace('FN:A', 'FN:Anna');
    expect(values(mergeVcard(b, local, remote).merged, 'tel')).toEqual(['555123789', '555123789', '0123 456 789']);
  });

  it('merges CATEGORIES and NICKNAME item by item', () => {
    const b = card('FN:A', 'CATEGORIES:friends,work', 'NICKNAME:Annie');
    const local = card('FN:A', 'CATEGORIES:friends,work,golf', 'NICKNAME:Annie,Nan');
    const remote = card('FN:A', 'CATEGORIES:work,chess', 'NICKNAME:Annie');
    const { merged } = mergeVcard(b, local, remote);
    expect(
      values(merged, 'categories')
        .flatMap((value) => value.split(','))
        .sort(),
    ).toEqual(['chess', 'golf', 'work']);
    expect(values(merged, 'nickname')).toEqual(['Annie,Nan']);
  });

  it('without a base, keeps the union and reports fields that differ', () => {
    const local = card('FN:Ann', 'TEL:111', 'EMAIL:a@example.com');
    const remote = card('FN:Ann Example', 'TEL:111', 'TEL:222');
    const { merged, conflicts } = mergeVcard(null, local, remote, { localTime: 1, remoteTime: 2 });
    expect(values(merged, 'tel')).toEqual(['111', '222']);
    expect(values(merged, 'email')).toEqual(['a@example.com']);
    expect(values(merged, 'fn')).toEqual(['Ann Example']);
    expect(conflicts).toEqual([expect.objectContaining({ property: 'FN', losingValue: 'FN:Ann' })]);
  });
});

describe('mergeVcard: groups, parameters and unknown properties', () => {
  const apple = card(
    'FN:John Doe',
    'item1.TEL;type=CELL;type=VOICE;type=pref:905-555-1234',
    'item1.X-ABLabel:_$!<Mobile>!$_',
    'item2.TEL:905-222-1234',
    'item2.X-ABLabel:_$!<AssistantPhone>!$_',
    'item3.ADR;type=HOME;type=pref:;;Silicon Alley 5\\,;New York;New York;12345;United States of America',
    'item3.X-ABADR:us',
  );

  it('keeps labels attached to their numbers when both sides add groups with the same name', () => {
    const local = apple.replace('END:VCARD', 'item4.TEL:905-444-0000\r\nitem4.X-ABLabel:Gym\r\nEND:VCARD');
    const remote = apple.replace('END:VCARD', 'item4.EMAIL:john@school.example\r\nitem4.X-ABLabel:School\r\nEND:VCARD');
    const { merged } = mergeVcard(apple, local, remote);
    expect(labelled(merged)).toEqual({
      '_$!<Mobile>!$_': 'TEL:905-555-1234',
      '_$!<AssistantPhone>!$_': 'TEL:905-222-1234',
      '(none)': 'ADR:;;Silicon Alley 5\\,;New York;New York;12345;United States of America',
      Gym: 'TEL:905-444-0000',
      School: 'EMAIL:john@school.example',
    });
    const groups = lines(merged).flatMap((line) => (line.group ? [line.group] : []));
    expect(new Set(groups).size).toBe(5);
  });

  it('moves a relabelled number with its new label, and reports a label both sides changed', () => {
    const local = apple.replace('_$!<AssistantPhone>!$_', 'Boss');
    const remote = apple.replace('_$!<AssistantPhone>!$_', 'Assistant');
    const { merged, conflicts } = mergeVcard(apple, local, remote, { localTime: 2, remoteTime: 1 });
    expect(labelled(merged).Boss).toBe('TEL:905-222-1234');
    expect(labelled(merged).Assistant).toBeUndefined();
    expect(conflicts).toEqual([
      expect.objectContaining({
        property: 'TEL',
        group: 'item2',
        key: '9052221234',
        winningValue: 'ITEM2.TEL:905-222-1234\r\nITEM2.X-ABLABEL:Boss',
        losingValue: 'ITEM2.TEL:905-222-1234\r\nITEM2.X-ABLABEL:Assistant',
      }),
    ]);
  });

  it('does not treat renumbered groups as a change', () => {
    const renumbered = apple
      .replaceAll('item1.', 'item9.')
      .replaceAll('item2.', 'item1.')
      .replaceAll('item9.', 'item2.');
    const remote = apple.replace('FN:John Doe', 'FN:John Q. Doe');
    const { merged, conflicts } = mergeVcard(apple, renumbered, remote);
    expect(conflicts).toEqual([]);
    expect(labelled(merged)).toEqual(labelled(apple));
    expect(values(merged, 'fn')).toEqual(['John Q. Doe']);
  });

  it('keeps every parameter and Android, Evolution and Google X- property as written', () => {
    const b = card(
      'FN:Roid Ando',
      'TEL;X-COUCHDB-UUID="03a0e51f-d1aa-4385-8a53-e29025acd8af";TYPE=CELL:+1 555 0100',
      'EMAIL;PREF=1;TYPE="INTERNET,HOME":roid@example.com',
      'X-ANDROID-CUSTOM:vnd.android.cursor.item/contact_event;1999-07-10;1;;;;;;;;;;;;;',
      'X-EVOLUTION-FILE-AS:Ando\\, Roid',
      'X-PHONETIC-FIRST-NAME:Roido',
      'X-GTALK;TYPE=WORK:roid@gtalk.example',
      'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIy',
    );
    const local = b.replace('FN:Roid Ando', 'FN:Roid A.');
    const remote = b.replace('END:VCARD', 'TEL:+1 555 0199\r\nEND:VCARD');
    const { merged } = mergeVcard(b, local, remote);
    const byName = (name: string) => lines(merged, name);
    expect(byName('tel')[0]?.params).toEqual({
      'x-couchdb-uuid': '03a0e51f-d1aa-4385-8a53-e29025acd8af',
      type: 'CELL',
    });
    expect(byName('email')[0]?.params).toEqual({ pref: '1', type: ['INTERNET', 'HOME'] });
    expect(values(merged, 'x-android-custom')).toEqual([
      'vnd.android.cursor.item/contact_event;1999-07-10;1;;;;;;;;;;;;;',
    ]);
    expect(values(merged, 'x-evolution-file-as')).toEqual(['Ando\\, Roid']);
    expect(values(merged, 'x-phonetic-first-name')).toEqual(['Roido']);
    expect(byName('x-gtalk')[0]).toMatchObject({ params: { type: 'WORK' }, value: 'roid@gtalk.example' });
    expect(values(merged, 'photo')).toEqual(values(b, 'photo'));
    expect(values(merged, 'tel')).toEqual(['+1 555 0100', '+1 555 0199']);
  });

  it('keeps both photos when one side changed the photo and the other a number, and reports a photo both changed', () => {
    const b = card('FN:A', 'PHOTO;ENCODING=b;TYPE=JPEG:AAAA', 'TEL:111');
    const local = b.replace('PHOTO;ENCODING=b;TYPE=JPEG:AAAA', 'PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=');
    const remote = b.replace('TEL:111', 'TEL:222');
    const first = mergeVcard(b, local, remote);
    expect(values(first.merged, 'photo')).toEqual(['iVBORw0KGgo=']);
    expect(values(first.merged, 'tel')).toEqual(['222']);
    const both = mergeVcard(b, local, b.replace('AAAA', 'BBBB'), { localTime: 1, remoteTime: 2 });
    expect(values(both.merged, 'photo')).toEqual(['BBBB']);
    expect(both.conflicts).toEqual([
      expect.objectContaining({ property: 'PHOTO', losingValue: 'PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=' }),
    ]);
  });

  it('keeps a repeated parameter instead of keeping only the last one', () => {
    const b = card4('FN:A', 'TEL;TYPE=work;TYPE=voice;X-SERVICE=a;X-SERVICE=b:+1 555 0100');
    const remote = b.replace('FN:A', 'FN:Ann');
    const local = b.replace('END:VCARD', 'EMAIL:a@example.com\r\nEND:VCARD');
    const tel = lines(mergeVcard(b, local, remote).merged, 'tel')[0];
    expect(tel?.params).toEqual({ type: ['work', 'voice'], 'x-service': ['a', 'b'] });
  });

  it('writes VERSION first, as vCard 4.0 requires', () => {
    const b = card4('FN:A', 'UID:urn:uuid:1');
    const local = ['BEGIN:VCARD', 'FN:A', 'UID:urn:uuid:1', 'TEL:1', 'VERSION:4.0', 'END:VCARD'].join('\r\n');
    const remote = b.replace('END:VCARD', 'TEL:2\r\nEND:VCARD');
    const { merged } = mergeVcard(b, local, remote);
    expect(merged.split('\r\n').slice(0, 2)).toEqual(['BEGIN:VCARD', 'VERSION:4.0']);
  });

  it('copies values byte for byte, however ical.js would type them', () => {
    const b = card4('FN:A', 'REV:1995-10-31T22:27:10Z', 'BDAY:--0415', 'ANNIVERSARY:19960415T201243+0400');
    const local = b.replace('FN:A', 'FN:Ann');
    const remote = b.replace('END:VCARD', 'TEL:1\r\nEND:VCARD');
    const { merged } = mergeVcard(b, local, remote);
    expect(values(merged, 'rev')).toEqual(['1995-10-31T22:27:10Z']);
    expect(values(merged, 'bday')).toEqual(['--0415']);
    expect(values(merged, 'anniversary')).toEqual(['19960415T201243+0400']);
  });
});

describe('mergeVcard: input it refuses', () => {
  it('rejects QUOTED-PRINTABLE values instead of merging the encoded text', () => {
    const qp = [
      'BEGIN:VCARD',
      'VERSION:2.1',
      'N:Doe;John',
      'NOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9',
      'END:VCARD',
    ].join('\r\n');
    const error = appError(() => mergeVcard(qp, qp, qp.replace('Doe;John', 'Doe;Jon')));
    expect(error.code).toBe('invalid_content');
    expect(error.details).toMatchObject({ property: 'NOTE' });
  });

  it.each([
    ['vCard 2.1 bare parameters', card('FN:A', 'TEL;WORK;VOICE:(111) 555-1212')],
    ['a line without a colon', card('FN:A', 'NOTE')],
    ['two contacts', `${card('FN:A')}${card('FN:B')}`],
    ['an iCalendar object', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n'],
    ['an unterminated object', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\n'],
    ['an empty text', ''],
  ])('rejects %s with invalid_content, whichever side it is on', (_what, bad) => {
    const good = card('FN:A');
    for (const [b, l, r] of [
      [bad, good, good],
      [good, bad, good],
      [good, good, bad],
    ] as const) {
      expect(appError(() => mergeVcard(b, l, r)).code).toBe('invalid_content');
    }
  });

  it('keeps record contents out of error messages', () => {
    const error = appError(() => mergeVcard(null, card('FN:A', 'TEL;CELL:+1 555 0100 secret'), card('FN:A')));
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('secret');
  });

  it('leaves ical.js parsing with its own value types afterwards, even after a failure', () => {
    mergeVcard(base, base.replace('FN:Ann Example', 'FN:X'), base.replace('NOTE:', 'NOTE:Y'));
    appError(() => mergeVcard(null, card('FN:A', 'TEL;CELL:1'), card('FN:A')));
    const event = ICAL.parse('BEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n') as unknown[];
    expect(JSON.stringify(event)).toContain('"date-time","2024-01-01T10:00:00Z"');
  });
});

describe('mergeVcard: line ends and encodings', () => {
  it('reads CR CR LF (iOS), LF-only and BOM-prefixed text', () => {
    const crcrlf = base.replaceAll('\r\n', '\r\r\n');
    const lf = `\uFEFF${base.replaceAll('\r\n', '\n')}`;
    const remote = base.replace('END:VCARD', 'TEL:222\r\nEND:VCARD');
    const { merged } = mergeVcard(crcrlf, lf.replace('FN:Ann Example', 'FN:Ann'), remote);
    expect(values(merged, 'fn')).toEqual(['Ann']);
    expect(values(merged, 'tel')).toEqual(['+1 (555) 010-0100', '222']);
  });

  it('keeps a CR inside a value (Thunderbird writes them) and long values across folds', () => {
    const long = 'Ünïcödé 😀 '.repeat(20);
    const b = card('FN:A', 'X-CUSTOM3;VALUE=TEXT:custom\r3', `NOTE:${long}`);
    const { merged } = mergeVcard(b, b.replace('FN:A', 'FN:B'), b.replace('END:VCARD', 'TEL:1\r\nEND:VCARD'));
    expect(values(merged, 'x-custom3')).toEqual(['custom\r3']);
    expect(values(merged, 'note')).toEqual([long]);
    // ical.js folds at 75 octets plus the continuation space, never inside a character.
    for (const line of merged.split('\r\n')) {
      expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });
});
