import type { PhotoMeta } from '@holdfast/protocol';

type Tags = Record<string, unknown>;

/**
 * Reads when a photo was taken and its pixel size from its bytes (the whole
 * blob or a leading part of it; `size` is the whole blob's size).
 *
 * Never throws: a photo whose metadata cannot be read, or bytes that are not
 * an image at all, still get stored, so unreadable fields are null.
 *
 * `takenAt` is the EXIF wall-clock time as ISO 8601, with the EXIF offset when
 * the camera recorded one and without an offset otherwise (EXIF times carry
 * no zone, so none is invented). Width and height are the stored pixel size
 * (before any EXIF orientation turn): the image header when it can be read,
 * since editors often leave EXIF sizes stale, else the EXIF fields.
 */
export async function readPhotoMeta(bytes: Uint8Array | Buffer, size: number): Promise<PhotoMeta> {
  const data: Uint8Array = bytes;
  const tags = await readTags(data);
  const header = jpegSize(data) ?? pngSize(data, tags);
  return {
    size,
    width: header?.width ?? positive(tags?.ExifImageWidth) ?? positive(tags?.ImageWidth),
    height: header?.height ?? positive(tags?.ExifImageHeight) ?? positive(tags?.ImageHeight),
    takenAt:
      exifTime(tags?.DateTimeOriginal, tags?.SubSecTimeOriginal, tags?.OffsetTimeOriginal) ??
      exifTime(tags?.CreateDate, tags?.SubSecTimeDigitized, tags?.OffsetTimeDigitized),
  };
}

async function readTags(data: Uint8Array): Promise<Tags | null> {
  if (data.length === 0) return null;
  // Loaded with the first photo, not at start: most servers never see one.
  const { default: exifr } = await import('exifr');
  try {
    const tags: unknown = await exifr.parse(data, {
      ihdr: true,
      jfif: false,
      xmp: false,
      icc: false,
      iptc: false,
      ifd1: false,
      gps: false,
      interop: false,
      makerNote: false,
      userComment: false,
      reviveValues: false,
      translateValues: false,
      mergeOutput: true,
    });
    return tags && typeof tags === 'object' ? (tags as Tags) : null;
  } catch {
    // Unknown formats and truncated or corrupt segments: the photo is kept
    // and its metadata is simply unknown. Nothing here is the caller's error.
    return null;
  }
}

/** Width and height from a JPEG's SOFn frame header. */
function jpegSize(data: Uint8Array): { width: number; height: number } | null {
  if (data[0] !== 0xff || data[1] !== 0xd8) return null;
  let pos = 2;
  while (pos + 3 < data.length) {
    if (data[pos] !== 0xff) return null;
    const marker = data[pos + 1] as number;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan: no frame header before it
    const length = u16(data, pos + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && pos + 8 < data.length) {
      const height = u16(data, pos + 5);
      const width = u16(data, pos + 7);
      return height > 0 && width > 0 ? { width, height } : null;
    }
    if (length < 2) return null;
    pos += 2 + length;
  }
  return null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** For a PNG, exifr reports the IHDR chunk as ImageWidth/ImageHeight. */
function pngSize(data: Uint8Array, tags: Tags | null): { width: number; height: number } | null {
  // Only trusted for PNGs: in TIFF-based files (DNG, some raws) IFD0 may describe a preview.
  if (!tags || !PNG_SIGNATURE.every((byte, index) => data[index] === byte)) return null;
  const width = positive(tags.ImageWidth);
  const height = positive(tags.ImageHeight);
  return width !== null && height !== null ? { width, height } : null;
}

function u16(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) << 8) | (data[at + 1] ?? 0);
}

function positive(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

const EXIF_TIME = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;
const OFFSET = /^[+-]\d{2}:\d{2}$/;

/** `2021:06:01 14:03:22` (+ sub-seconds, + `+02:00`) as ISO 8601; null for blank or zeroed dates. */
function exifTime(value: unknown, subSec: unknown, offset: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = EXIF_TIME.exec(value.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match;
  if (Number(year) === 0 || Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > 31) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return null;
  let iso = `${year}-${month}-${day}T${hour}:${minute}:${second}`;
  const fraction = typeof subSec === 'string' ? subSec.trim() : '';
  if (/^\d{1,9}$/.test(fraction)) iso += `.${fraction}`;
  if (typeof offset === 'string' && OFFSET.test(offset.trim())) iso += offset.trim();
  return iso;
}
