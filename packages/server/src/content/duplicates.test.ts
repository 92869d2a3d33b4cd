import { addUser, engines } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readHead } from '../store/revision-log.js';
import { type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { findDuplicates, nameKey, summarizeContact } from './duplicates.js';

const card = (...lines: string[]) => ['BEGIN:VCARD', 'VERSION:3.0', ...lines, 'END:VCARD', ''].join('\r\n');

test('nameKey ignores case, accents, punctuation and word order', () => {
  expect(nameKey('Lovelace, Ada')).toBe(nameKey('ada  LOVELACE'));
  expect(nameKey('Zoë Müller')).toBe(nameKey('zoe muller'));
  expect(nameKey('Ada Lovelace')).not.toBe(nameKey('Ada Byron'));
});

test('summarizeContact reads names, nicknames, phones and emails, QUOTED-PRINTABLE included', () => {
  const text =
    'BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans\r\nNICKNAME:Hansi,Jo\r\nTEL;CELL:+49 1\r\nEMAIL:h@m.de\r\nEND:VCARD\r\n';
  expect(summarizeContact(text)).toEqual({
    fn: 'Hans Müller',
    nicknames: ['Hansi', 'Jo'],
    tels: ['+49 1'],
    emails: ['h@m.de'],
    family: 'Müller',
    given: 'Hans',
  });
});

describe.each(engines)('duplicate finder on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  test('groups by shared phone or email (across address books) and by names, and merges nothing', async () => {
    const user = await addUser(f.server);
    const other = await f.collection('contacts', 'Work', user);
    await f.import(
      await f.file(
        'people.vcf',
        [
          card('FN:Ada Lovelace', 'TEL:+44 (20) 7946-0001'),
          card('FN:Robert Smith', 'N:Smith;Robert;;;', 'NICKNAME:Bob'),
          card('FN:Bob Smith', 'N:Smith;Bob;;;'),
          card('FN:Unrelated Person', 'EMAIL:someone@example.com'),
          card('FN:Another Stranger', 'TEL:112'),
        ].join(''),
      ),
      {},
      user,
    );
    await f.import(
      await f.file(
        'work.vcf',
        card('FN:A. Lovelace', 'TEL:+442079460001') +
          card('FN:Countess', 'EMAIL:ADA@EXAMPLE.COM') +
          card('FN:Lovelace, Ada', 'EMAIL:ada@example.com') +
          card('FN:Emergency', 'TEL:112'),
      ),
      { collectionId: other },
      user,
    );
    const before = await readHead(f.server.ctx.db.kysely);
    const groups = await findDuplicates(f.server.ctx.db.kysely, user.userId);
    expect(await readHead(f.server.ctx.db.kysely)).toBe(before);
    expect(groups.map((g) => [g.confidence, g.contacts.map((c) => c.fn), g.reasons])).toEqual([
      [
        'high',
        ['A. Lovelace', 'Ada Lovelace', 'Countess', 'Lovelace, Ada'],
        ['same email ada@example.com', 'same phone +442079460001', 'same name "ada lovelace"'],
      ],
      ['possible', ['Bob Smith', 'Robert Smith'], ['nickname "Bob" of Robert Smith']],
    ]);
    // Short numbers (112) are not treated as one person's number.
    expect(groups.flatMap((g) => g.contacts.map((c) => c.fn))).not.toContain('Emergency');
    expect(groups[0]?.contacts.map((c) => c.collectionId)).toContain(other);
  });

  test('an account without duplicates gets none', async () => {
    const user = await addUser(f.server);
    await f.import(
      await f.file('solo.vcf', card('FN:Only One', 'TEL:+1 555 0101') + card('FN:Someone Else', 'TEL:+1 555 0102')),
      {},
      user,
    );
    expect(await findDuplicates(f.server.ctx.db.kysely, user.userId)).toEqual([]);
  });
});
