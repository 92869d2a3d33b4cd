import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import { type BundleLimits, openBundle } from '../bundle/bundle-reader.js';

/** A folder or a ZIP, seen the same way: files by their path inside it (with `/`), sizes known before reading. */
export interface FileTree {
  files: { path: string; size: number }[];
  open(path: string): Promise<Readable>;
  readBytes(path: string, max: number): Promise<Buffer>;
  close(): void;
}

/** Whether the ZIP at `path` is not a Holdfast export (no manifest.json at its top). */
export async function isPlainZip(path: string): Promise<boolean> {
  let bundle: Awaited<ReturnType<typeof openBundle>>;
  try {
    bundle = await openBundle(path);
  } catch {
    return false; // Left to the export reader, which says what is wrong with it.
  }
  try {
    return !bundle.entries.has('manifest.json');
  } finally {
    bundle.close();
  }
}

// Files a system or an archiver adds that are nobody's data.
const NOISE = /(^|\/)(\.[^/]*|__MACOSX|Thumbs\.db|desktop\.ini)(\/|$)/i;

export async function openFileTree(path: string, limits: BundleLimits): Promise<FileTree> {
  if ((await stat(path)).isDirectory()) return openFolder(path);
  const bundle = await openBundle(path, limits);
  const files = [...bundle.entries.values()]
    .filter((e) => !e.fileName.endsWith('/') && !NOISE.test(e.fileName))
    .map((e) => ({ path: e.fileName, size: e.uncompressedSize }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, open: bundle.open, readBytes: bundle.readBytes, close: bundle.close };
}

async function openFolder(root: string): Promise<FileTree> {
  const files: { path: string; size: number }[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(root, full).split(sep).join('/');
    if (NOISE.test(path)) continue;
    files.push({ path, size: (await stat(full)).size });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const known = new Map(files.map((f) => [f.path, f.size]));
  const full = (path: string) => {
    if (!known.has(path)) throw new AppError('invalid_content', `the folder has no ${path}`);
    return join(root, ...path.split('/'));
  };
  return {
    files,
    open: async (path) => createReadStream(full(path)),
    async readBytes(path, max) {
      const size = known.get(path) ?? 0;
      if (size > max) throw new AppError('payload_too_large', `${path} is ${size} bytes; at most ${max} are read`);
      return readFile(full(path));
    },
    close: () => {},
  };
}
