import { describe, expect, it } from 'vitest';
import { contentHash, contentHashInput } from './content-hash.js';
import { itemDigest } from './summary.js';

// Stored ETags and collection digests were computed with these exact bytes: any change breaks every replica.
describe('content hash and item digest', () => {
  it('hashes the content hash input with SHA-256 as hex', () => {
    expect(contentHashInput('text/vcard', 'FN:x', null)).toBe('["holdfast-content-v1","text/vcard","FN:x",null]');
    expect(contentHash('text/vcard', 'BEGIN:VCARD\r\nFN:Zoë\r\nEND:VCARD\r\n', null)).toBe(
      'f773f4d1cb09a5dc9fff46d8ea527ce849e39d1a5ef697a6c8070b1c5ebfcbac',
    );
    expect(contentHash('image/jpeg', '{"caption":"x"}', 'a'.repeat(64))).toBe(
      'dc2e4ff0eac9c1b3456f2f8ac3e43ce725e90212333b0edf5f55f85576eee759',
    );
  });

  it('digests an item as the first 16 bytes of SHA-256 of its id and hash', () => {
    expect(itemDigest('item-1', 'f'.repeat(64))).toBe('bc182e3b78d0a084e70747b99a257992');
  });
});
