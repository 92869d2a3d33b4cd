import { photoMetaSchema } from '@holdfast/protocol';
import { describe, expect, test } from 'vitest';
import { readPhotoMeta } from './photo-meta.js';
import { corpusFiles } from './test-support/corpus.js';
import { EXIF, jpeg, png, vcardPhoto } from './test-support/images.js';

/** Real images embedded in corpus vCards; sizes as `file(1)` reports them. */
function corpusImage(name: string): Buffer {
  const file = corpusFiles('vcard', '.vcf').find((f) => f.name === name);
  if (!file) throw new Error(`corpus file ${name} is missing`);
  return vcardPhoto(file.text);
}

describe('readPhotoMeta on real images', () => {
  test.each([
    ['sabre_v21-photo-jpeg.vcf', 320, 320],
    ['calendarserver_apple-ab-photo.vcf', 640, 480],
    // No EXIF size at all: only the JPEG frame header knows.
    ['folkerkinzel_outlook-v21-photo.vcf', 314, 177],
    // A PNG: size from IHDR.
    ['aosp_v21_blackberry_photo.vcf', 50, 58],
  ])('%s is %ix%i', async (name, width, height) => {
    const bytes = corpusImage(name);
    const meta = await readPhotoMeta(bytes, bytes.length);
    expect(meta).toEqual({ size: bytes.length, width, height, takenAt: null });
    expect(photoMetaSchema.parse(meta)).toEqual(meta);
  });

  test('accepts a Uint8Array as well as a Buffer', async () => {
    const bytes = corpusImage('sabre_v21-photo-jpeg.vcf');
    const meta = await readPhotoMeta(new Uint8Array(bytes), 7);
    expect(meta).toEqual({ size: 7, width: 320, height: 320, takenAt: null });
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
    ['a JPEG cut inside its EXIF segment', corpusImage('sabre_v21-photo-jpeg.vcf').subarray(0, 40)],
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
