import { createHash } from 'node:crypto';
import { AppError, type BlobRef, type CollectionType, collectionTypes } from '@holdfast/protocol';
import { describe, expect, test } from 'vitest';
import { contactFields } from '../bundle/field-counts.js';
import { contactListing } from './contact-listing.js';
import { decodeContent, normalizeContent } from './normalize-content.js';

const VCARD = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c1\r\nFN:Zoë Ü\r\nEND:VCARD\r\n';
const EVENT =
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTART:20240501T090000Z\r\nSUMMARY:Talk\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
const TODO =
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1\r\nSUMMARY:Milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
const NOTE = { title: 'Groceries', body: '- milk\n- 🍞' };
const MESSAGE = {
  thread: 't1',
  sender: '+15550100',
  recipients: ['+15550101'],
  body: 'hi',
  sentAt: '2024-05-01T09:00:00+02:00',
  direction: 'outgoing',
};
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const PHOTO_BLOB: BlobRef = { sha256: SHA_A, contentType: 'image/jpeg' };
const PHOTO_META = { size: 2048, width: 640, height: 480, takenAt: '2021-06-01T14:03:22+02:00' };

/** Valid content for each collection type, with the blob it needs. */
const VALID: Record<CollectionType, { content: unknown; blob?: BlobRef }> = {
  contacts: { content: VCARD },
  calendar: { content: EVENT },
  tasks: { content: TODO },
  notes: { content: NOTE },
  messages: { content: MESSAGE },
  photos: { content: { caption: 'beach' }, blob: PHOTO_BLOB },
};

function rejection(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected invalid_content');
}

function expectInvalid(run: () => unknown, message: RegExp): void {
  const error = rejection(run);
  expect(error.code).toBe('invalid_content');
  expect(error.message).toMatch(message);
}

describe('normalizeContent: vCard and iCalendar', () => {
  test('a contact is stored byte-for-byte, sized in UTF-8 bytes', () => {
    const result = normalizeContent('contacts', VCARD);
    expect(result).toEqual({
      contentType: 'text/vcard',
      text: VCARD,
      meta: { uid: 'c1', fn: 'Zoë Ü', version: '4.0' },
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: Buffer.byteLength(VCARD, 'utf8'),
      listing: { ...contactListing(VCARD), fields: contactFields(VCARD) },
    });
    expect(result.size).toBe(VCARD.length + 2);
  });

  test('events and tasks are stored byte-for-byte with their meta', () => {
    const event = normalizeContent('calendar', EVENT);
    expect(event).toMatchObject({ contentType: 'text/calendar', text: EVENT, size: EVENT.length });
    expect(event.meta).toMatchObject({ uid: 'e1', summary: 'Talk', start: '2024-05-01T09:00:00Z', hasRrule: false });
    expect(normalizeContent('tasks', TODO).meta).toMatchObject({ uid: 't1', summary: 'Milk', due: null });
  });

  test('an event is not a task; a calendar holds tasks too, one kind per item', () => {
    expectInvalid(() => normalizeContent('tasks', EVENT), /^task items hold VTODOs only; found VEVENT/);
    expect(normalizeContent('calendar', TODO).meta).toEqual(normalizeContent('tasks', TODO).meta);
    const both = EVENT.replace(
      'END:VCALENDAR',
      TODO.slice(TODO.indexOf('BEGIN:VTODO')).replace(/END:VCALENDAR\r?\n?$/, 'END:VCALENDAR'),
    );
    expectInvalid(() => normalizeContent('calendar', both), /^calendar items hold VEVENTs only; found VTODO/);
  });

  test('text that is not what the collection holds', () => {
    expectInvalid(
      () => normalizeContent('contacts', EVENT),
      /^not a vCard: line 1: expected BEGIN:VCARD, found BEGIN:VCALENDAR/,
    );
    expectInvalid(
      () => normalizeContent('calendar', VCARD),
      /^not an iCalendar object: line 1: expected BEGIN:VCALENDAR/,
    );
  });

  test.each([
    ['a NUL character', VCARD.replace('Zoë', 'Zo\u0000ë'), /^content contains a NUL character \(at offset 39\)$/],
    [
      'a lone high surrogate',
      VCARD.replace('Zoë', 'Zo\uD83D'),
      /^content contains a lone UTF-16 surrogate \(at offset 39\)/,
    ],
    [
      'a lone low surrogate',
      VCARD.replace('Zoë', '\uDE00Zo'),
      /^content contains a lone UTF-16 surrogate \(at offset 37\)/,
    ],
    [
      'a surrogate pair in the wrong order',
      VCARD.replace('Zoë', '\uDE00\uD83D'),
      /lone UTF-16 surrogate \(at offset 37\)/,
    ],
  ])('refuses %s', (_name, text, message) => {
    expectInvalid(() => normalizeContent('contacts', text), message);
  });

  test('well-formed astral characters are fine', () => {
    expect(normalizeContent('contacts', VCARD.replace('Zoë', 'Zoë 😀')).meta).toMatchObject({ fn: 'Zoë 😀 Ü' });
  });

  test('the zod limits: a vCard of exactly the limit passes, one character more does not', () => {
    const head = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nNOTE:';
    const tail = '\r\nEND:VCARD\r\n';
    const atLimit = head + 'n'.repeat(1_048_576 - head.length - tail.length) + tail;
    expect(atLimit).toHaveLength(1_048_576);
    expect(normalizeContent('contacts', atLimit).size).toBe(1_048_576);
    expectInvalid(
      () => normalizeContent('contacts', `${atLimit} `),
      /^a vCard: Too big: expected string to have <=1048576 characters$/,
    );
    expectInvalid(() => normalizeContent('calendar', ''), /^an iCalendar object: Too small/);
  });
});

describe('normalizeContent: JSON types', () => {
  test('a note is canonical JSON (sorted keys) with its title as meta', () => {
    const result = normalizeContent('notes', { body: NOTE.body, title: NOTE.title });
    expect(result.contentType).toBe('text/markdown');
    expect(result.text).toBe(JSON.stringify({ body: NOTE.body, title: NOTE.title }));
    expect(result.meta).toEqual({ title: 'Groceries' });
    expect(result.size).toBe(Buffer.byteLength(result.text ?? '', 'utf8'));
    expect(normalizeContent('notes', { title: NOTE.title, body: NOTE.body }).hash).toBe(result.hash);
  });

  test('a message gets its attachments default and searchable meta', () => {
    const result = normalizeContent('messages', MESSAGE);
    expect(result.contentType).toBe('application/json');
    expect(JSON.parse(result.text ?? '')).toEqual({ ...MESSAGE, attachments: [] });
    expect(result.meta).toEqual({
      thread: 't1',
      sender: '+15550100',
      sentAt: '2024-05-01T09:00:00+02:00',
      direction: 'outgoing',
      attachments: 0,
    });
  });

  test.each([
    ['notes', { title: 5, body: '' }, /^invalid note: title: Invalid input: expected string, received number$/],
    ['notes', { title: 'x' }, /^invalid note: body: Invalid input: expected string, received undefined$/],
    ['notes', { title: 'x', body: '', pinned: true }, /^invalid note: Unrecognized key: "pinned"$/],
    [
      'notes',
      { title: 't'.repeat(1001), body: '' },
      /^invalid note: title: Too big: expected string to have <=1000 characters$/,
    ],
    ['notes', { title: 'x', body: 'a\u0000b' }, /^body contains a NUL character \(at offset 1\)$/],
    ['messages', { ...MESSAGE, sentAt: 'yesterday' }, /^invalid message: sentAt: /],
    ['messages', { ...MESSAGE, recipients: ['a', ''] }, /^invalid message: recipients\[1\]: Too small/],
    [
      'messages',
      { ...MESSAGE, attachments: [{ sha256: 'nope', contentType: 'image/png' }] },
      /^invalid message: attachments\[0\]\.sha256: /,
    ],
    ['messages', { ...MESSAGE, recipients: ['ok', 'x\uD800'] }, /^recipients\[1\] contains a lone UTF-16 surrogate/],
    ['messages', { ...MESSAGE, body: 1, thread: 2 }, /^invalid message: thread: .* \(and 1 more problem\)$/],
  ] as const)('%s %j is refused', (type, content, message) => {
    expectInvalid(() => normalizeContent(type, content), message);
  });
});

describe('normalizeContent: wrong JS types', () => {
  test.each([
    ['contacts', { fn: 'x' }, /^contacts content must be a vCard as a string; got an object$/],
    ['contacts', undefined, /^contacts content must be a vCard as a string; got undefined$/],
    ['calendar', 42, /^calendar content must be an iCalendar object as a string; got a number$/],
    ['tasks', null, /^tasks content must be an iCalendar object as a string; got null$/],
    ['notes', 'just text', /^note content must be an object \{title, body\}; got a string$/],
    ['notes', [NOTE], /^note content must be an object \{title, body\}; got an array$/],
    ['messages', null, /^message content must be an object .*; got null$/],
  ] as const)('%s given %j', (type, content, message) => {
    expectInvalid(() => normalizeContent(type, content), message);
  });

  test('photos given a string', () => {
    expectInvalid(() => normalizeContent('photos', 'cat.jpg', PHOTO_BLOB), /^photo content must be an object/);
  });
});

describe('normalizeContent: blobs', () => {
  test('a photo: the blob type is the content type, the meta comes from the bytes, the size includes the blob', () => {
    const result = normalizeContent('photos', { filename: 'a.jpg', caption: 'beach' }, PHOTO_BLOB, {
      size: 2048,
      photoMeta: PHOTO_META,
    });
    expect(result).toEqual({
      contentType: 'image/jpeg',
      text: '{"caption":"beach","filename":"a.jpg"}',
      meta: PHOTO_META,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: 38 + 2048,
    });
  });

  test('a photo without bytes read yet still records its size', () => {
    expect(normalizeContent('photos', {}, PHOTO_BLOB, { size: 9 }).meta).toEqual({
      size: 9,
      width: null,
      height: null,
      takenAt: null,
    });
    expect(normalizeContent('photos', {}, PHOTO_BLOB).meta).toBeNull();
  });

  test('photos need a blob', () => {
    expectInvalid(() => normalizeContent('photos', { caption: 'x' }), /^photos need a blob/);
  });

  test.each(['contacts', 'calendar', 'tasks', 'notes'] as const)('%s items cannot carry a blob', (type) => {
    expectInvalid(
      () => normalizeContent(type, VALID[type].content, PHOTO_BLOB),
      new RegExp(`^${type} items cannot carry a blob \\(only photos and messages do\\)$`),
    );
  });

  test('a message may carry a blob, and it counts in size and hash', () => {
    const plain = normalizeContent('messages', MESSAGE);
    const withBlob = normalizeContent('messages', MESSAGE, { sha256: SHA_B, contentType: 'image/png' }, { size: 100 });
    expect(withBlob.size).toBe(plain.size + 100);
    expect(withBlob.hash).not.toBe(plain.hash);
  });

  test.each([
    [{ sha256: 'ABC', contentType: 'image/jpeg' }, /^invalid blob reference: sha256: /],
    [{ sha256: SHA_A, contentType: 'jpeg' }, /^blob contentType 'jpeg' is not a media type/],
  ])('a bad blob reference %j', (blob, message) => {
    expectInvalid(() => normalizeContent('photos', {}, blob), message);
  });
});

describe('hash', () => {
  test('is SHA-256 over the JSON array [version, contentType, text, blob sha256]', () => {
    const result = normalizeContent('photos', { caption: 'x' }, PHOTO_BLOB, { size: 1 });
    const expected = createHash('sha256')
      .update(JSON.stringify(['holdfast-content-v1', 'image/jpeg', '{"caption":"x"}', SHA_A]))
      .digest('hex');
    expect(result.hash).toBe(expected);
    const contact = normalizeContent('contacts', VCARD);
    expect(contact.hash).toBe(
      createHash('sha256')
        .update(JSON.stringify(['holdfast-content-v1', 'text/vcard', VCARD, null]))
        .digest('hex'),
    );
  });

  test('same input, same hash; any change in text, blob or blob type changes it', () => {
    const base = normalizeContent('photos', { caption: 'x' }, PHOTO_BLOB).hash;
    expect(normalizeContent('photos', { caption: 'x' }, { ...PHOTO_BLOB }).hash).toBe(base);
    expect(normalizeContent('photos', { caption: 'y' }, PHOTO_BLOB).hash).not.toBe(base);
    expect(normalizeContent('photos', { caption: 'x' }, { ...PHOTO_BLOB, sha256: SHA_B }).hash).not.toBe(base);
    expect(normalizeContent('photos', { caption: 'x' }, { ...PHOTO_BLOB, contentType: 'image/png' }).hash).not.toBe(
      base,
    );
    expect(normalizeContent('contacts', VCARD).hash).not.toBe(
      normalizeContent('contacts', VCARD.replace('\r\n', '\n')).hash,
    );
  });

  test('the same text under different content types hashes differently', () => {
    const asNote = normalizeContent('notes', { title: 'a', body: 'b' });
    const asPhoto = normalizeContent('photos', {}, PHOTO_BLOB);
    expect(asNote.hash).not.toBe(asPhoto.hash);
  });
});

describe('decodeContent', () => {
  test.each(collectionTypes.map((type) => [type]))('%s content comes back as it was pushed', (type) => {
    const { content, blob } = VALID[type];
    const normalized = normalizeContent(type, content, blob);
    const decoded = decodeContent(type, normalized.text);
    if (typeof content === 'string') {
      expect(decoded).toBe(content);
    } else {
      expect(decoded).toEqual(type === 'messages' ? { ...MESSAGE, attachments: [] } : content);
      // And pushing the decoded content again is a no-op: same text, same hash.
      expect(normalizeContent(type, decoded, blob)).toEqual(normalized);
    }
  });

  test('a deletion decodes to null', () => {
    expect(decodeContent('notes', null)).toBeNull();
    expect(decodeContent('contacts', null)).toBeNull();
  });

  test('stored JSON that is not an object is an internal error, not bad input', () => {
    for (const text of ['{broken', '[1,2]', 'null', '"text"']) {
      const error = rejection(() => decodeContent('notes', text));
      expect(error.code).toBe('internal');
      expect(error.message).toMatch(/^stored notes content is not/);
    }
  });
});
