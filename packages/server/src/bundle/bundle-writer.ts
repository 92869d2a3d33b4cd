import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import yazl from 'yazl';
import type { ManifestFile } from './manifest.js';

useNativeCrc32();

/**
 * yazl takes every entry's CRC-32 from buffer-crc32, a byte-at-a-time loop in
 * JavaScript (about 400 MB/s): for an account's photos that, not the disk, set
 * the pace. zlib.crc32 (Node 20.15+, 22.2+) computes the same standard CRC-32
 * natively, over ten times faster, so yazl's copy of buffer-crc32 is pointed
 * at it. Both compute the same checksum, so every user of the module gets
 * the same results, only sooner.
 */
function useNativeCrc32(): void {
  // Typed as always there, but missing before Node 20.15.
  const native = zlib.crc32 as typeof zlib.crc32 | undefined;
  if (typeof native !== 'function') return;
  const fromYazl = createRequire(createRequire(import.meta.url).resolve('yazl'));
  const crc32 = fromYazl('buffer-crc32') as { unsigned: (data: Uint8Array, previous?: number) => number };
  crc32.unsigned = (data, previous = 0) => native(data, previous);
}

/**
 * Writes a ZIP one entry at a time: an entry's bytes are produced only when
 * the ZIP reaches it, and the next entry is not started before the previous
 * one is fully written. So the bundle streams with memory bounded by one
 * chunk, however large the account. Every entry is hashed as it goes,
 * except a blob, whose name is its hash already.
 */
export interface BundleWriter {
  /**
   * Writes `path` from `body`; resolves with its hash and size once it is in
   * the ZIP. `sha256`: the body's hash, known already (a blob from the blob
   * store, which checked it when the blob was stored), so not computed again;
   * verify-export recomputes it from the bundle.
   */
  addFile(
    path: string,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    options?: { compress?: boolean; sha256?: string },
  ): Promise<ManifestFile>;
  /** `path`, or `path` with ` (2)`, ` (3)`… before its extension if a file of that name (ignoring case) exists. */
  uniquePath(path: string): string;
  /** Every file written so far, in order. */
  readonly files: ManifestFile[];
  /** The ZIP's bytes; read it, or nothing is written. */
  readonly output: NodeJS.ReadableStream;
  /** Writes the central directory; `output` ends after it. */
  finish(): void;
  /** Fails the ZIP (the output errors and ends). */
  abort(error: Error): void;
}

/**
 * Deflate level for text entries. Level 1 makes an export's .vcf, .ics and
 * manifest about 10 % larger than the default 6 but deflates them three to
 * four times faster. Photos and attachments are stored as they are
 * (`compress: false`): they are compressed already.
 */
const TEXT_COMPRESSION = 1;

/** The least a stored entry's bytes are handed on in. */
const WRITE_SIZE = 1 << 20;

export function createBundleWriter(mtime: Date): BundleWriter {
  const zip = new yazl.ZipFile();
  const files: ManifestFile[] = [];
  const used = new Set<string>();
  let failure: Error | null = null;
  const waiting = new Set<(error: Error) => void>();
  zip.on('error', (error: Error) => {
    failure = error;
    for (const reject of waiting) reject(error);
  });

  return {
    files,
    output: zip.outputStream,
    uniquePath(path) {
      const dot = path.lastIndexOf('.');
      const slash = path.lastIndexOf('/');
      const [stem, ext] = dot > slash + 1 ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
      let candidate = path;
      for (let n = 2; used.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
      used.add(candidate.toLowerCase());
      return candidate;
    },
    async addFile(path, body, options = {}) {
      if (failure) throw failure;
      used.add(path.toLowerCase());
      const hash = options.sha256 === undefined ? createHash('sha256') : null;
      let bytes = 0;
      const chunks = body instanceof Uint8Array ? [body] : body;
      // Stored bytes go on in pieces of at least WRITE_SIZE: a photo read 64 KiB at a time would otherwise
      // cost one pass through the ZIP's streams and one write to disk per 64 KiB. Text comes batched already.
      const writeSize = options.compress === false ? WRITE_SIZE : 0;
      async function* counted(): AsyncGenerator<Uint8Array> {
        let pending: Uint8Array[] = [];
        let length = 0;
        for await (const chunk of chunks) {
          hash?.update(chunk);
          bytes += chunk.length;
          pending.push(chunk);
          length += chunk.length;
          if (length < writeSize) continue;
          yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending, length);
          pending = [];
          length = 0;
        }
        if (pending.length > 0) yield Buffer.concat(pending, length);
      }
      const stream = Readable.from(counted(), { objectMode: false });
      let rejectEntry: (error: Error) => void = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          rejectEntry = reject;
          waiting.add(reject);
          stream.once('error', reject);
          stream.once('end', () => resolve());
          const compressionLevel = options.compress === false ? 0 : TEXT_COMPRESSION;
          zip.addReadStreamLazy(path, { compressionLevel, mtime }, (callback) => callback(null, stream));
        });
      } finally {
        waiting.delete(rejectEntry);
      }
      const file = { path, sha256: hash?.digest('hex') ?? options.sha256 ?? '', bytes };
      files.push(file);
      return file;
    },
    finish() {
      zip.end();
    },
    abort(error) {
      failure = error;
      (zip.outputStream as unknown as Readable).destroy(error);
    },
  };
}

/**
 * A file or folder name made from user text: path separators, characters
 * Windows refuses and control characters become `_`; leading dots and
 * trailing dots and blanks go; at most 100 characters. Empty → `fallback`.
 */
export function safeName(name: string, fallback: string): string {
  const cleaned = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being replaced.
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  const short = [...cleaned].slice(0, 100).join('');
  return short.length > 0 ? short : fallback;
}

/**
 * Joins small pieces (text as UTF-8, or bytes) into chunks of about `size`
 * bytes, so the ZIP is not fed one tiny item at a time and text becomes
 * bytes once per chunk rather than once per item.
 */
export async function* batched(
  source: AsyncIterable<string | Uint8Array>,
  size = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  let parts: (string | Uint8Array)[] = [];
  let length = 0;
  let allText = true;
  const flush = () => {
    const chunk = allText
      ? Buffer.from((parts as string[]).join(''), 'utf8')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    parts = [];
    length = 0;
    allText = true;
    return chunk;
  };
  for await (const part of source) {
    parts.push(part);
    allText &&= typeof part === 'string';
    // Characters, not bytes, for text: close enough for choosing when to flush.
    length += part.length;
    if (length >= size) yield flush();
  }
  if (parts.length > 0) yield flush();
}
