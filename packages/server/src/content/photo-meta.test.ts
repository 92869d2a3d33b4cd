import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { photoMetaSchema } from '@holdfast/protocol';
import { bundledCorpusDir, corpusFiles } from '@holdfast/test-support/corpus';
import { EXIF, jpeg, png, vcardPhoto } from '@holdfast/test-support/images';
import { describe, expect, test } from 'vitest';
import { readPhotoMeta } from './photo-meta.js';

/** Real images embedded in bundled corpus vCards; sizes as `file(1)` reports them. */
function corpusImage(name: string): Buffer {
  const file = corpusFiles('vcard', 'bundled').find((f) => f.name === name);
  if (!file) throw new Error(`corpus file ${name} is missing`);
  return vcardPhoto(file.text);
}

describe('readPhotoMeta on real images', () => {
  test.each([
    // A phone photo with its EXIF kept: camera time with offset, and stale EXIF sizes (4032x3024) the header overrides.
    ['apple-contacts-macos-photo.vcf', 'photo-exif.jpg', 48, 36, '2023-05-14T09:41:07+02:00'],
    ['android-21-photo.vcf', 'photo-exif.jpg', 48, 36, '2023-05-14T09:41:07+02:00'],
    // No EXIF at all: only the JPEG frame header knows.
    ['outlook-21-photo.vcf', 'photo-jfif.jpg', 40, 52, null],
    // A PNG: size from IHDR.
    ['evolution-3-png-photo.vcf', 'photo.png', 30, 24, null],
  ])('%s (%s) is %ix%i', async (name, image, width, height, takenAt) => {
    const bytes = corpusImage(name);
    expect(bytes).toEqual(readFileSync(join(bundledCorpusDir, 'images', image)));
    const meta = await readPhotoMeta(bytes, bytes.length);
    expect(meta).toEqual({ size: bytes.length, width, height, takenAt });
    expect(photoMetaSchema.parse(meta)).toEqual(meta);
  });

  test('accepts a Uint8Array as well as a Buffer', async () => {
    const bytes = corpusImage('outlook-21-photo.vcf');
    const meta = await readPhotoMeta(new Uint8Array(bytes), 7);
    expect(meta).toEqual({ size: 7, width: 40, height: 52, takenAt: null });
  });
});

describe('readPhotoMeta takenAt', () => {
  test('DateTimeOriginal with sub-seconds and offset', async () => {
    const bytes = jpeg({
      width: 4032,
      height: 3024,
      exif: [
        { tag: EXIF.DateTimeOriginal, value: '2021:06:01 14:03:22' },
        { tag: EXIF.SubSecTimeOriginal, value: '045' },
        { tag: EXIF.OffsetTimeOriginal, value: '+02:00' },
        { tag: EXIF.CreateDate, value: '2020:01:01 00:00:00' },
      ],
    });
    expect(await readPhotoMeta(bytes, 123)).toEqual({
      size: 123,
      width: 4032,
      height: 3024,
      takenAt: '2021-06-01T14:03:22.045+02:00',
    });
  });

  test('without an offset the wall-clock time stays zone-less (not shifted by the server zone)', async () => {
    const bytes = jpeg({ width: 10, height: 20, exif: [{ tag: EXIF.DateTimeOriginal, value: '1999:12:31 23:59:59' }] });
    expect((await readPhotoMeta(bytes, bytes.length)).takenAt).toBe('1999-12-31T23:59:59');
  });

  test('falls back to CreateDate', async () => {
    const bytes = jpeg({ width: 10, height: 20, exif: [{ tag: EXIF.CreateDate, value: '2010:02:03 04:05:06' }] });
    expect((await readPhotoMeta(bytes, bytes.length)).takenAt).toBe('2010-02-03T04:05:06');
  });

  test('a zeroed or blank camera clock is no date', async () => {
    for (const value of ['0000:00:00 00:00:00', '    :  :     :  :  ', 'yesterday']) {
      const bytes = jpeg({ width: 10, height: 20, exif: [{ tag: EXIF.DateTimeOriginal, value }] });
      expect((await readPhotoMeta(bytes, bytes.length)).takenAt).toBeNull();
    }
  });
});

describe('readPhotoMeta never throws', () => {
  test.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('definitely not an image, just words')],
    ['random', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['a JPEG cut inside its EXIF segment', corpusImage('android-21-photo.vcf').subarray(0, 40)],
    ['a PNG cut inside IHDR', png(64, 48).subarray(0, 20)],
    ['a JPEG whose segment lengths are wrong', Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01, 0xff, 0xc0])],
  ])('%s → nulls', async (_name, bytes) => {
    await expect(readPhotoMeta(bytes, 99)).resolves.toEqual({ size: 99, width: null, height: null, takenAt: null });
  });

  test('a built PNG is read from IHDR', async () => {
    const bytes = png(64, 48);
    expect(await readPhotoMeta(bytes, bytes.length)).toEqual({
      size: bytes.length,
      width: 64,
      height: 48,
      takenAt: null,
    });
  });
});
