import { vcard, vevent } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { mergeContent } from './content-merge.js';

const card = (lines: string[]) => ['BEGIN:VCARD', 'VERSION:4.0', 'UID:c1', ...lines, 'END:VCARD', ''].join('\r\n');

describe('mergeContent', () => {
  it('merges contacts field by field and reports the value that lost', () => {
    const base = card(['FN:Ada', 'TEL:+1 555 0100']);
    const local = card(['FN:Ada Lovelace', 'TEL:+1 555 0100', 'TEL:+1 555 0111']);
    const remote = card(['FN:Ada King', 'TEL:+1 555 0100', 'EMAIL:ada@example.com']);
    const out = mergeContent(
      'contacts',
      base,
      { content: local, blob: null, time: 2 },
      { content: remote, blob: null, time: 1 },
    );
    expect(out.kind).toBe('fields');
    const merged = out.content as string;
    expect(merged).toContain('FN:Ada Lovelace');
    expect(merged).toContain('+1 555 0111');
    expect(merged).toContain('ada@example.com');
    expect(out.fields).toEqual([
      expect.objectContaining({ property: 'FN', winner: 'local', losingValue: 'FN:Ada King' }),
    ]);
  });

  it('merges calendars with mergeIcalendar', () => {
    const base = vevent('e1', 'Standup');
    const local = base.replace('DTSTART:20260301T090000Z', 'DTSTART:20260301T093000Z');
    const remote = base.replace('SUMMARY:Standup', 'SUMMARY:Daily standup');
    const out = mergeContent(
      'calendar',
      base,
      { content: local, blob: null, time: 1 },
      { content: remote, blob: null, time: 2 },
    );
    expect(out.kind).toBe('fields');
    expect(out.content).toContain('DTSTART:20260301T093000Z');
    expect(out.content).toContain('SUMMARY:Daily standup');
    expect(out.fields).toEqual([]);
  });

  it('lets the later note win whole and keeps the other', () => {
    const a = { content: { title: 'mine', body: '1' }, blob: null, time: 10 };
    const b = { content: { title: 'theirs', body: '2' }, blob: null, time: 20 };
    expect(mergeContent('notes', null, a, b)).toMatchObject({
      kind: 'last_writer_wins',
      winner: 'remote',
      content: b.content,
      losingContent: a.content,
    });
    expect(mergeContent('notes', null, { ...a, time: 30 }, b)).toMatchObject({
      winner: 'local',
      losingContent: b.content,
    });
    // A tie goes to the server's copy, so every device picks the same winner.
    expect(mergeContent('notes', null, { ...a, time: 20 }, b).winner).toBe('remote');
  });

  it('keeps a photo with its blob when it wins', () => {
    const blob = { sha256: 'a'.repeat(64), contentType: 'image/png' };
    const out = mergeContent(
      'photos',
      null,
      { content: { caption: 'x' }, blob, time: 5 },
      { content: { caption: 'y' }, blob: null, time: 1 },
    );
    expect(out).toMatchObject({ winner: 'local', blob, losingContent: { caption: 'y' } });
  });

  it('falls back to last-writer-wins, keeping the loser, for text the field merge cannot read', () => {
    const unreadable =
      'BEGIN:VCARD\r\nVERSION:2.1\r\nFN:X\r\nTEL;CELL:123\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=\r\n=3Db\r\nEND:VCARD\r\n';
    const other = vcard('c1', 'Other');
    const out = mergeContent(
      'contacts',
      null,
      { content: unreadable, blob: null, time: 1 },
      { content: other, blob: null, time: 2 },
    );
    expect(out).toMatchObject({ kind: 'merge_failed', winner: 'remote', content: other, losingContent: unreadable });
  });
});
