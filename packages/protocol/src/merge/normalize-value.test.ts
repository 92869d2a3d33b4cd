import { describe, expect, it } from 'vitest';
import {
  normalizeAddress,
  normalizeCalAddress,
  normalizeEmail,
  normalizeTel,
  normalizeText,
  splitEscaped,
  unescapeText,
} from './normalize-value.js';

describe('normalizeTel', () => {
  it.each([
    ['+1 (555) 010-0199', '+15550100199'],
    ['tel:+1-555-010-0199', '+15550100199'],
    ['TEL:+1.555.010.0199', '+15550100199'],
    ['0611 / 123456', '0611123456'],
    ['+49\u00a0170\t5550199', '+491705550199'],
    ['+1 555 0100;ext=12', '+15550100;ext=12'],
    ['1-800-FLOWERS', '1800flowers'],
    ['', ''],
  ])('%j is %j', (raw, key) => {
    expect(normalizeTel(raw)).toBe(key);
  });

  it('keeps numbers with and without a country code apart', () => {
    expect(normalizeTel('555 0100')).not.toBe(normalizeTel('+1 555 0100'));
  });
});

describe('normalizeEmail and normalizeCalAddress', () => {
  it('ignores case, white space and mailto:', () => {
    expect(normalizeEmail(' Ann.Example@Example.COM ')).toBe('ann.example@example.com');
    expect(normalizeCalAddress('MAILTO:Bob@Example.com')).toBe('bob@example.com');
    expect(normalizeCalAddress('mailto:bob@example.com')).toBe('bob@example.com');
  });
});

describe('normalizeAddress', () => {
  it('compares unescaped, collapsed components and ignores trailing empty ones', () => {
    const apple = ';;Silicon Alley 5\\,;New York;New York;12345;United States of America';
    expect(normalizeAddress(apple)).toBe(';;Silicon Alley 5,;New York;New York;12345;United States of America');
    expect(normalizeAddress(';;Main St  1;Town;;;')).toBe(normalizeAddress(';;Main St 1;Town'));
    expect(normalizeAddress(';;Street4\\nBuilding 6;NY')).toBe(';;Street4 Building 6;NY');
    expect(normalizeAddress(';;Main St 1;Town')).not.toBe(normalizeAddress(';;Main St 1;Other Town'));
  });
});

describe('text escapes', () => {
  it('splits at unescaped separators only and keeps the escapes in the pieces', () => {
    expect(splitEscaped('a,b\\,c,,d\\\\,e', ',')).toEqual(['a', 'b\\,c', '', 'd\\\\', 'e']);
    expect(splitEscaped('', ',')).toEqual(['']);
    expect(splitEscaped('Doe;John;;Dr.;', ';')).toEqual(['Doe', 'John', '', 'Dr.', '']);
  });

  it('decodes TEXT escapes', () => {
    expect(unescapeText('a\\,b\\;c\\\\d\\ne\\Nf\\:g')).toBe('a,b;c\\d\ne\nf:g');
    expect(normalizeText('  Ski\\,   golf \\n ')).toBe('Ski, golf');
  });
});
