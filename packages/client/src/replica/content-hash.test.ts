import type { CollectionType } from '@holdfast/protocol';
import { normalizeContent } from '@holdfast/server';
import { vcard, vevent, vtodo } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { prepareContent } from './content-hash.js';

const blob = { sha256: 'ab'.repeat(32), contentType: 'image/png' };

const samples: [CollectionType, unknown, typeof blob | null][] = [
  ['contacts', vcard('c1', 'Ada Lovelace'), null],
  ['calendar', vevent('e1', 'Standup'), null],
  ['tasks', vtodo('t1', 'Pay rent'), null],
  ['notes', { body: 'b\u00e9 \ud83d\ude00', title: 'T' }, null],
  ['messages', { thread: 't', sender: 's', recipients: ['r'], body: 'hi', sentAt: '2026-01-01T00:00:00Z' }, null],
  ['photos', { caption: 'sunset', filename: 'a.png' }, blob],
];

describe('prepareContent', () => {
  it.each(samples)('computes the same content type and hash as the server for %s', (type, content, ref) => {
    const server = normalizeContent(type, content, ref ?? undefined, ref ? { size: 10 } : undefined);
    const local = prepareContent(type, content, ref);
    expect(local.contentType).toBe(server.contentType);
    expect(local.hash).toBe(server.hash);
  });

  it('fills schema defaults so the stored content is what the server stores', () => {
    const local = prepareContent('messages', samples[4]?.[1], null);
    expect(local.content).toMatchObject({ attachments: [] });
  });

  it.each([
    ['contacts', { not: 'text' }, null],
    ['notes', { title: 'x' }, null],
    ['notes', { title: 'x', body: '', extra: 1 }, null],
    ['photos', {}, null],
    ['notes', { title: 'x', body: '' }, blob],
    ['messages', { thread: 't', sender: 's', recipients: [], body: '', sentAt: 'yesterday' }, null],
  ] as [CollectionType, unknown, typeof blob | null][])(
    'refuses invalid %s content with invalid_content',
    (type, content, ref) => {
      expect(() => prepareContent(type, content, ref)).toThrow(expect.objectContaining({ code: 'invalid_content' }));
    },
  );
});
