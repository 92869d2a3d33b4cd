import type { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import type yauzl from 'yauzl';
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

/**
 * What a bundle may hold, by its decompressed sizes. A ZIP's directory states
 * each entry's size and the reader checks every entry against it as it
 * inflates, so these are checked before anything is read: a few hundred
 * kilobytes of deflated spaces (a zip bomb) are refused, not inflated.
 */
export interface BundleLimits {
  /** manifest.json, which is read whole to be parsed (about 200 bytes per item). */
  maxManifestBytes: number;
  /** Any one entry, decompressed. */
  maxEntryBytes: number;
  /** All entries together, decompressed. */
  maxArchiveBytes: number;
}

/** The defaults of the settings of the same names (config.ts), for callers without a configuration. */
export const defaultBundleLimits: BundleLimits = {
  maxManifestBytes: 128 * 1024 * 1024,
  maxEntryBytes: 4 * 1024 * 1024 * 1024,
  maxArchiveBytes: 64 * 1024 * 1024 * 1024,
};

/** Opens a ZIP by path; reads its central directory only, and refuses it if it unpacks larger than `limits`. */
export async function openBundle(file: string, limits: BundleLimits = defaultBundleLimits): Promise<Bundle> {
  // Loaded by the import or check that reads a bundle, not when the server starts.
  const { default: zipReader } = await import('yauzl');
  let zip: yauzl.ZipFile;
  try {
    zip = await zipReader.openPromise(file, { lazyEntries: true, autoClose: false, strictFileNames: false });
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
  try {
    checkSizes(entries, limits);
  } catch (error) {
    zip.close();
    throw error;
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
        throw new AppError(
          'payload_too_large',
          `${path} unpacks to ${entry.uncompressedSize} bytes; at most ${max} are read`,
        );
      }
      // The directory's size is checked as the entry inflates; counting here as well keeps the bound
      // independent of that check.
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of await open(path)) {
        total += (chunk as Buffer).length;
        if (total > max) throw new AppError('payload_too_large', `${path} unpacks to more than ${max} bytes`);
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    },
    close: () => zip.close(),
  };
}

function checkSizes(entries: Map<string, yauzl.Entry>, limits: BundleLimits): void {
  let total = 0;
  for (const entry of entries.values()) {
    total += entry.uncompressedSize;
    const max = entry.fileName === 'manifest.json' ? limits.maxManifestBytes : limits.maxEntryBytes;
    if (entry.uncompressedSize > max) {
      throw new AppError(
        'payload_too_large',
        `${entry.fileName} unpacks to ${entry.uncompressedSize} bytes; entries of at most ${max} bytes are imported`,
      );
    }
  }
  if (total > limits.maxArchiveBytes) {
    throw new AppError(
      'payload_too_large',
      `the ZIP unpacks to ${total} bytes; archives of at most ${limits.maxArchiveBytes} bytes are imported`,
    );
  }
}

/** Reads and parses a bundle's manifest.json (refused above `maxBytes`). */
export async function readManifest(bundle: Bundle, maxBytes = defaultBundleLimits.maxManifestBytes): Promise<Manifest> {
  if (!bundle.entries.has('manifest.json')) {
    throw new AppError('invalid_content', 'not a Holdfast export: the ZIP has no manifest.json');
  }
  return parseManifest((await bundle.readBytes('manifest.json', maxBytes)).toString('utf8'));
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
