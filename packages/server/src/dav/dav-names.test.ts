import { idSchema, isId } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';

describe('isId', () => {
  it('accepts exactly what idSchema accepts', () => {
    const fixed = [
      '',
      'a',
      'book',
      'A.b_c~d-e',
      '.hidden',
      '-x',
      '_x',
      '~x',
      'x/y',
      'x y',
      'x\n',
      '\nx',
      'zoë',
      'x%20',
      'a'.repeat(128),
      'a'.repeat(129),
      `${'a'.repeat(127)}.`,
      '0b1c2d3e-0000-4000-8000-000000000001',
    ];
    // Random strings over the allowed characters and a few that are not, of lengths around the limits.
    const alphabet = 'aZ09._~-/ %\n\u00e9';
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    const random = Array.from({ length: 5000 }, () => {
      const length = next() % 132;
      // One string in three may hold characters an id cannot.
      const letters = next() % 3 === 0 ? alphabet.length : 8;
      let text = '';
      for (let i = 0; i < length; i++) text += alphabet[next() % letters];
      return text;
    });
    for (const text of [...fixed, ...random])
      expect(isId(text), JSON.stringify(text)).toBe(idSchema.safeParse(text).success);
    expect(random.filter(isId).length).toBeGreaterThan(100);
    expect(random.filter((text) => !isId(text)).length).toBeGreaterThan(100);
  });
});
