import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { AppError, cutNoteTitle } from '@holdfast/protocol';
import { type BundleLimits, openBundle } from '../bundle/bundle-reader.js';
import { decodeText } from '../bundle/charset.js';
import { type ImportCandidate, type ImportProblem, MARKDOWN } from './import-source.js';

/**
 * Markdown notes from other apps (Obsidian, Joplin and Bear exports, a
 * folder of `.md` files, or a ZIP of one): each `.md` file becomes a note
 * whose body is the file's text as written, YAML front matter included, so
 * nothing of it is lost; the title is the front matter's `title`, else the
 * first `# ` heading, else the file name. Importing the same files again
 * finds the same content and writes nothing.
 */

/** Larger than any note (the body limit is 4 MiB of text). */
const MAX_NOTE_FILE_BYTES = 8 * 1024 * 1024;

/** Whether a ZIP is an archive of Markdown notes rather than a Holdfast export (which has a manifest). */
export async function isMarkdownZip(path: string, limits: BundleLimits): Promise<boolean> {
  const bundle = await openBundle(path, limits);
  try {
    const names = [...bundle.entries.keys()];
    return !names.includes('manifest.json') && names.some((name) => MARKDOWN.test(name));
  } finally {
    bundle.close();
  }
}

/** The notes of a folder (walked recursively, hidden entries left out) or of a ZIP, in path order. */
export async function* markdownCandidates(
  path: string,
  limits: BundleLimits,
): AsyncGenerator<ImportCandidate | ImportProblem> {
  if ((await stat(path)).isDirectory()) {
    for (const file of await markdownFiles(path)) {
      const source = relative(path, file).split(sep).join('/');
      const { size } = await stat(file);
      yield size > MAX_NOTE_FILE_BYTES ? tooBig(source, size) : candidate(source, await readFile(file));
    }
    return;
  }
  const bundle = await openBundle(path, limits);
  try {
    const names = [...bundle.entries.keys()].filter((name) => MARKDOWN.test(name) && !hidden(name)).sort();
    for (const name of names) {
      const size = bundle.entries.get(name)?.uncompressedSize ?? 0;
      yield size > MAX_NOTE_FILE_BYTES
        ? tooBig(name, size)
        : candidate(name, await bundle.readBytes(name, MAX_NOTE_FILE_BYTES));
    }
  } finally {
    bundle.close();
  }
}

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await markdownFiles(full)));
    else if (entry.isFile() && MARKDOWN.test(entry.name)) out.push(full);
  }
  return out.sort();
}

function hidden(name: string): boolean {
  return name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}

function candidate(source: string, bytes: Uint8Array): ImportCandidate {
  const { text, encoding } = decodeText(bytes);
  return {
    kind: 'candidate',
    source,
    type: 'notes',
    content: { title: titleOf(text, source), body: text },
    encoding,
  };
}

function tooBig(source: string, size: number): ImportProblem {
  return {
    kind: 'problem',
    source,
    reason: `${size} bytes; notes are imported up to ${MAX_NOTE_FILE_BYTES / 1024 / 1024} MiB`,
  };
}

const FRONT_MATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

/** The front matter's title, else the first level-one heading, else the file name without its extension. */
export function titleOf(text: string, source: string): string {
  const front = FRONT_MATTER.exec(text);
  const fromFront = front ? /^title:[ \t]*(.+?)[ \t]*$/m.exec(front[1] ?? '')?.[1] : undefined;
  const unquoted = fromFront?.replace(/^(["'])(.*)\1$/, '$2');
  const body = front ? text.slice(front[0].length) : text;
  const heading = /^#[ \t]+(.+?)[ \t#]*$/m.exec(body)?.[1];
  const file = (source.split('/').at(-1) ?? source).replace(MARKDOWN, '');
  const title = unquoted || heading || file;
  return cutNoteTitle(title);
}

/** A folder given to the import that holds no Markdown at all is not a notes folder. */
export async function hasMarkdown(dir: string): Promise<boolean> {
  try {
    return (await markdownFiles(dir)).length > 0;
  } catch (error) {
    throw new AppError('invalid_request', `cannot read ${dir}: ${(error as Error).message}`);
  }
}
