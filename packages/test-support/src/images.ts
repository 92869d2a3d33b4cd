/**
 * Builds small, structurally valid image files byte by byte, so photo
 * metadata tests control exactly which tags and headers are present.
 */

interface AsciiTag {
  tag: number;
  value: string;
}

/** A baseline JPEG: SOI, optional APP1 Exif with the given ASCII tags in the Exif IFD, SOF0, SOS, EOI. */
export function jpeg(options: { width: number; height: number; exif?: AsciiTag[] }): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  if (options.exif) parts.push(segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff(options.exif)])));
  const sof = Buffer.alloc(15);
  sof.writeUInt8(8, 0); // precision
  sof.writeUInt16BE(options.height, 1);
  sof.writeUInt16BE(options.width, 3);
  sof.writeUInt8(3, 5); // components
  for (let i = 0; i < 3; i++) sof.writeUInt8(i + 1, 6 + i * 3);
  parts.push(segment(0xc0, sof));
  parts.push(segment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])));
  parts.push(Buffer.from([0x00, 0xff, 0xd9]));
  return Buffer.concat(parts);
}

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(0xff, 0);
  head.writeUInt8(marker, 1);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** Big-endian TIFF: IFD0 holding only the Exif IFD pointer; the Exif IFD holds `tags` (ASCII). */
function tiff(tags: AsciiTag[]): Buffer {
  const header = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]);
  const ifd0Size = 2 + 12 + 4;
  const exifOffset = 8 + ifd0Size;
  const sorted = [...tags].sort((a, b) => a.tag - b.tag);
  const exifSize = 2 + 12 * sorted.length + 4;
  let dataOffset = exifOffset + exifSize;
  const ifd0 = Buffer.alloc(ifd0Size);
  ifd0.writeUInt16BE(1, 0);
  ifd0.writeUInt16BE(0x8769, 2);
  ifd0.writeUInt16BE(4, 4); // LONG
  ifd0.writeUInt32BE(1, 6);
  ifd0.writeUInt32BE(exifOffset, 10);
  const exif = Buffer.alloc(exifSize);
  exif.writeUInt16BE(sorted.length, 0);
  const data: Buffer[] = [];
  sorted.forEach(({ tag, value }, index) => {
    const bytes = Buffer.from(`${value}\0`, 'latin1');
    const at = 2 + index * 12;
    exif.writeUInt16BE(tag, at);
    exif.writeUInt16BE(2, at + 2); // ASCII
    exif.writeUInt32BE(bytes.length, at + 4);
    if (bytes.length <= 4) {
      bytes.copy(exif, at + 8);
    } else {
      exif.writeUInt32BE(dataOffset, at + 8);
      data.push(bytes);
      dataOffset += bytes.length;
    }
  });
  return Buffer.concat([header, ifd0, exif, ...data]);
}

export const EXIF = {
  DateTimeOriginal: 0x9003,
  CreateDate: 0x9004,
  OffsetTimeOriginal: 0x9011,
  SubSecTimeOriginal: 0x9291,
} as const;

/** A PNG signature plus IHDR chunk (with CRC) and IEND: enough for header readers. */
export function png(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed), 0);
  return Buffer.concat([length, typed, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The first base64 PHOTO of a vCard, decoded (the corpus images). */
export function vcardPhoto(vcard: string): Buffer {
  const match = /^PHOTO[^:\r\n]*:([\s\S]*?)\r?\n(?=[A-Za-z])/m.exec(vcard);
  if (!match?.[1]) throw new Error('no PHOTO in this vCard');
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}
