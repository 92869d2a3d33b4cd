import { describe, expect, test } from 'vitest';
import { searchText } from './contact-listing.js';

/** The definition: NFKD, combining marks dropped, lower case, whitespace collapsed. */
const byDefinition = (value: string) =>
  value.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();

describe('searchText', () => {
  test('reads ASCII and other text as its definition does', () => {
    const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
    const values = [
      ascii,
      `  Ada \t Lovelace\r\n${ascii.toUpperCase()}  `,
      'ADA.LOVELACE@EXAMPLE.COM',
      'Zoë Günther',
      'Ｆｕｌｌ\u00a0width\u2003space',
      'ﬁ ligature',
      'İstanbul',
      '',
    ];
    for (const value of values) expect(searchText(value)).toBe(byDefinition(value));
    expect(searchText('  Zoë\tGÜNTHER ')).toBe('zoe gunther');
  });
});
