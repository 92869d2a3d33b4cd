import { vcard, vevent } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MASS_CHANGE_LIMIT, isBlanking, massChangeLimit } from './mass-change.js';

describe('mass-change guard', () => {
  it('allows 50 items or 10 % of the replica, whichever is larger', () => {
    expect(massChangeLimit(0, DEFAULT_MASS_CHANGE_LIMIT)).toBe(50);
    expect(massChangeLimit(400, DEFAULT_MASS_CHANGE_LIMIT)).toBe(50);
    expect(massChangeLimit(501, DEFAULT_MASS_CHANGE_LIMIT)).toBe(51);
    expect(massChangeLimit(10_000, DEFAULT_MASS_CHANGE_LIMIT)).toBe(1000);
    expect(massChangeLimit(10, { ratio: 0.5, minItems: 1 })).toBe(5);
  });

  it('sees a contact that lost every number, email and address as blanked', () => {
    const full = vcard('c1', 'Ada Lovelace');
    const blank = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c1\r\nFN:Ada Lovelace\r\nTEL:\r\nEND:VCARD\r\n';
    expect(isBlanking('contacts', full, blank)).toBe(true);
    expect(isBlanking('contacts', full, vcard('c1', 'Ada King', '+1 555 0199'))).toBe(false);
    const grouped = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nitem1.EMAIL;type=INTERNET:x@example.com\r\nEND:VCARD\r\n';
    expect(isBlanking('contacts', grouped, blank)).toBe(true);
    // A contact that never had any is not blanked by staying empty.
    expect(isBlanking('contacts', blank, blank)).toBe(false);
  });

  it('sees emptied events, notes and messages as blanked', () => {
    const empty =
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    expect(isBlanking('calendar', vevent('e1', 'Standup'), empty)).toBe(true);
    expect(isBlanking('calendar', vevent('e1', 'Standup'), vevent('e1', 'Retro'))).toBe(false);
    expect(isBlanking('notes', { title: 'a', body: 'b' }, { title: '', body: '  ' })).toBe(true);
    expect(isBlanking('notes', { title: 'a', body: 'b' }, { title: 'a', body: '' })).toBe(false);
    const message = { body: 'hi', attachments: [] };
    expect(isBlanking('messages', message, { body: '', attachments: [] })).toBe(true);
    expect(isBlanking('messages', message, { body: '', attachments: [{ sha256: 'x' }] })).toBe(false);
    expect(isBlanking('photos', { caption: 'x' }, {})).toBe(false);
  });
});
