import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('cursor codec', () => {
  it('round-trips a position with its chain value (format c2)', () => {
    const position = { generation: 'Abcdefgh12345678', seq: 12, chain: '0123456789abcdef' };
    const cursor = encodeCursor(position);
    expect(atob(cursor.replaceAll('-', '+').replaceAll('_', '/'))).toBe('c2:Abcdefgh12345678:12:0123456789abcdef');
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('still reads and writes cursors without a chain value (format c1)', () => {
    const old = btoa('c1:Abcdefgh12345678:12').replace(/=+$/, '');
    expect(decodeCursor(old)).toEqual({ generation: 'Abcdefgh12345678', seq: 12 });
    expect(encodeCursor({ generation: 'Abcdefgh12345678', seq: 12 })).toBe(old);
  });

  it('refuses malformed cursors and chain values as invalid_cursor', () => {
    for (const raw of [
      'c2:Abcdefgh12345678:12:0123456789ABCDEF',
      'c2:Abcdefgh12345678:12:0123456789abcde',
      'c2:Abcdefgh12345678:12',
      'c1:Abcdefgh12345678:12:0123456789abcdef',
      'c2:Abcdefgh12345678:012:0123456789abcdef',
    ]) {
      expect(() => decodeCursor(btoa(raw).replace(/=+$/, '')), raw).toThrow(
        expect.objectContaining({ code: 'invalid_cursor' }),
      );
    }
    expect(() => encodeCursor({ generation: 'Abcdefgh12345678', seq: 1, chain: 'xyz' })).toThrow();
  });
});
