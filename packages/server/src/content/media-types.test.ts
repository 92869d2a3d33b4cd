import { describe, expect, test } from 'vitest';
import { mediaTypeOf } from '../dav/files-store.js';
import { importedImageType, isLoneFile } from '../import/import-source.js';
import { extensionFor, fileExtension } from './media-types.js';

describe('media types by extension', () => {
  test('an extension is what follows the last dot of the last segment, lower case', () => {
    expect(fileExtension('Photos/IMG_1.JPG')).toBe('jpg');
    expect(fileExtension('a.tar.gz')).toBe('gz');
    expect(fileExtension('folder.d/README')).toBe('');
    expect(fileExtension('plain')).toBe('');
  });

  test('an import takes still images as photos, WebDAV takes videos and every image type too', () => {
    expect(importedImageType('x/IMG_1.HEIC')).toBe('image/heic');
    expect(importedImageType('scan.tif')).toBe('image/tiff');
    for (const name of ['a.avif', 'b.dng', 'c.mp4', 'd.mov', 'e.vcf']) expect(importedImageType(name)).toBeUndefined();
    expect(mediaTypeOf('a.avif', undefined)).toBe('image/avif');
    expect(mediaTypeOf('b.DNG', undefined)).toBe('image/x-adobe-dng');
    expect(mediaTypeOf('c.mp4', 'application/octet-stream')).toBe('video/mp4');
    expect(mediaTypeOf('d.txt', undefined)).toBeNull();
  });

  test('a name that spells a property of every object names no media type', () => {
    for (const name of ['x.constructor', 'x.__proto__', 'x.tostring', 'x.hasownproperty']) {
      expect(isLoneFile(name), name).toBe(false);
      expect(importedImageType(name), name).toBeUndefined();
      expect(mediaTypeOf(name, undefined), name).toBeNull();
    }
  });

  test('a photo without a name of its own is named with the first extension of its type, also in an export', () => {
    expect(extensionFor('image/jpeg')).toBe('.jpg');
    expect(extensionFor('image/tiff')).toBe('.tif');
    expect(extensionFor('image/avif')).toBe('.avif');
    expect(extensionFor('image/x-adobe-dng')).toBe('.dng');
    expect(extensionFor('video/quicktime')).toBe('.mov');
    expect(extensionFor('application/octet-stream')).toBe('');
  });
});
