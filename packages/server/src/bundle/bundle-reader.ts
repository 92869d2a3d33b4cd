import type { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import yauzl from 'yauzl';
import { type Manifest, parseManifest } from './manifest.js';

/** An export bundle opened for reading: its entries by name, each readable as a stream. */
export interface Bundle {
  entries: Map<string, yauzl.Entry>;
  /** The entry's bytes as a stream (sizes checked against the ZIP's directory as it is read). */
  open(path: string): Promise<Readable>;
  /** A whole entry as bytes, refused if it is larger than `max`. */
  readBytes(path: string, max: number): Promise<Buffer>;
  close(): void;
}

/** The largest manifest read (about 200 bytes per item: some 2.5 million items). */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

/** Opens a ZIP by path; reads its central directory only. */
export async function openBundle(file: string): Promise<Bundle> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, strictFileNames: false });
  } catch (error) {
    throw new AppError('invalid_content', `not a ZIP file: ${(error as Error).message}`);
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (error) {
    zip.close();
    throw new AppError('invalid_content', `damaged ZIP file: ${(error as Error).message}`);
  }
  const open = async (path: string): Promise<Readable> => {
    const entry = entries.get(path);
    if (!entry) throw new AppError('invalid_content', `the bundle has no ${path}`);
    return zip.openReadStreamPromise(entry);
  };
  return {
    entries,
    open,
    async readBytes(path, max) {
      const entry = entries.get(path);
      if (entry && entry.uncompressedSize > max) {
        throw new AppError('invalid_content', `${path} is larger than ${max} bytes`);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of await open(path)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    close: () => zip.close(),
  };
}

/** Reads and parses a bundle's manifest.json. */
export async function readManifest(bundle: Bundle): Promise<Manifest> {
  if (!bundle.entries.has('manifest.json')) {
    throw new AppError('invalid_content', 'not a Holdfast export: the ZIP has no manifest.json');
  }
  return parseManifest((await bundle.readBytes('manifest.json', MAX_MANIFEST_BYTES)).toString('utf8'));
}

/**
 * Cuts byte ranges out of a stream in one pass. Ranges must be sorted by
 * offset and must not overlap; each comes out whole (ranges are item-sized).
 */
export async function* sliceStream<T extends { offset: number; length: number }>(
  stream: AsyncIterable<Uint8Array>,
  ranges: T[],
): AsyncGenerator<{ range: T; bytes: Buffer }> {
  let position = 0;
  let index = 0;
  let parts: Buffer[] = [];
  for await (const input of stream) {
    const chunk = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const chunkEnd = position + chunk.length;
    while (index < ranges.length) {
      const range = ranges[index] as T;
      const end = range.offset + range.length;
      const from = Math.max(range.offset, position) - position;
      const to = Math.min(end, chunkEnd) - position;
      if (from < chunk.length && to > from) parts.push(Buffer.from(chunk.subarray(from, to)));
      if (end > chunkEnd) break;
      yield { range, bytes: Buffer.concat(parts) };
      parts = [];
      index++;
    }
    position = chunkEnd;
  }
  // Ranges past the end of the stream come out short; the caller's hash check catches them.
  for (; index < ranges.length; index++) {
    yield { range: ranges[index] as T, bytes: Buffer.concat(parts) };
    parts = [];
  }
}
