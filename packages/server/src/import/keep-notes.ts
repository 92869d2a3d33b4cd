import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { AppError, cutNoteTitle, type NoteContent } from '@holdfast/protocol';
import { z } from 'zod';
import { escapeText, journalText, utcStamp } from '../content/vjournal.js';
import type { FileTree } from './file-tree.js';
import type { ImportCandidate, ImportProblem } from './import-source.js';

/**
 * Google Keep notes from a Takeout archive: `…/Keep/<title>.json`, one per
 * note (its `.html` twin and `Labels.txt` hold nothing more). A note becomes
 * a Holdfast note whose title is Keep's title and whose body is its text, or
 * its checklist as `- [ ]` / `- [x]` lines, then its links. What the note
 * schema has no field for (labels, colour, pinned, archived, dates, attached
 * pictures) goes into the note's iCalendar journal entry (`ical`), the place
 * a note keeps what a journal app wrote beyond title and body: it travels
 * with the note through the export and back, and journal apps read it over
 * CalDAV. Notes in Keep's trash are reported as skipped.
 */

/** Keep caps a note at 20,000 characters; a file far beyond that is not a note. */
const MAX_KEEP_FILE_BYTES = 8 * 1024 * 1024;

const keepNoteSchema = z.looseObject({
  title: z.string().optional(),
  textContent: z.string().optional(),
  listContent: z
    .array(z.looseObject({ text: z.string().default(''), isChecked: z.boolean().default(false) }))
    .optional(),
  annotations: z.array(z.looseObject({ url: z.string().optional(), title: z.string().optional() })).optional(),
  attachments: z.array(z.looseObject({ filePath: z.string(), mimetype: z.string().optional() })).optional(),
  labels: z.array(z.looseObject({ name: z.string() })).optional(),
  color: z.string().optional(),
  isTrashed: z.boolean().optional(),
  isPinned: z.boolean().optional(),
  isArchived: z.boolean().optional(),
  createdTimestampUsec: z.union([z.number(), z.string()]).optional(),
  userEditedTimestampUsec: z.union([z.number(), z.string()]).optional(),
});
type KeepNote = z.infer<typeof keepNoteSchema>;

/** Keep's colours as the CSS colour names RFC 7986 `COLOR` takes (Keep's own name is kept beside it). */
const CSS_COLORS: Record<string, string> = {
  RED: 'red',
  ORANGE: 'orange',
  YELLOW: 'yellow',
  GREEN: 'green',
  TEAL: 'teal',
  BLUE: 'lightblue',
  CERULEAN: 'steelblue',
  GRAY: 'gray',
  PURPLE: 'purple',
  PINK: 'pink',
  BROWN: 'brown',
};

/** Whether a file is in a Keep folder of a Takeout archive. */
export function inKeepFolder(path: string): boolean {
  return posix.basename(posix.dirname(path)) === 'Keep';
}

/**
 * Keep files that hold nothing of their own: the `.html` twin of a note whose
 * `.json` is there, and the list of labels (the notes carry theirs).
 */
export function isKeepCompanion(path: string, paths: Set<string>): boolean {
  if (!inKeepFolder(path)) return false;
  if (posix.basename(path) === 'Labels.txt') return true;
  return /\.html$/i.test(path) && paths.has(path.replace(/\.html$/i, '.json'));
}

/**
 * The note a Keep JSON file holds; null when the file is not a Keep note.
 * The note names the pictures attached to it by the SHA-256 of their bytes;
 * `imageType` says which files the archive import stores as photos (only
 * those are named, so every name leads to a blob of the user's).
 */
export async function keepNoteCandidate(
  tree: FileTree,
  path: string,
  paths: Set<string>,
  imageType: (path: string) => string | undefined,
  maxBlobBytes: number,
): Promise<ImportCandidate | ImportProblem | null> {
  let json: unknown;
  try {
    json = JSON.parse((await tree.readBytes(path, MAX_KEEP_FILE_BYTES)).toString());
  } catch (error) {
    if (error instanceof AppError) return { kind: 'problem', source: path, reason: error.message };
    if (error instanceof SyntaxError) return { kind: 'problem', source: path, reason: `not JSON: ${error.message}` };
    throw error;
  }
  // Other JSON in a folder named Keep (a photo's sidecar) is passed over as it is anywhere else.
  if (typeof json !== 'object' || json === null || !('textContent' in json || 'listContent' in json)) return null;
  const parsed = keepNoteSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return { kind: 'problem', source: path, reason: `not a Google Keep note (${where}${issue?.message})` };
  }
  const keep = parsed.data;
  if (keep.isTrashed) {
    return { kind: 'problem', source: path, reason: "in Keep's trash; not imported", skipped: true };
  }
  const attachments: Attached[] = [];
  for (const attachment of keep.attachments ?? []) {
    const file = attachedFile(posix.join(posix.dirname(path), attachment.filePath), paths);
    const contentType = file ? imageType(file) : undefined;
    if (!file || !contentType) continue;
    const bytes = await tree.readBytes(file, maxBlobBytes).catch((error: unknown) => {
      if (error instanceof AppError) return null;
      throw error;
    });
    if (bytes) attachments.push({ filename: posix.basename(file), contentType, sha256: sha256(bytes) });
  }
  return { kind: 'candidate', source: path, type: 'notes', content: noteFromKeep(keep, path, attachments) };
}

interface Attached {
  filename: string;
  contentType: string;
  sha256: Buffer;
}

/** The file an attachment names; Takeout sometimes names a `.jpg` as `.jpeg` in the note, or the other way. */
function attachedFile(path: string, paths: Set<string>): string | null {
  if (paths.has(path)) return path;
  const other = /\.jpeg$/i.test(path) ? path.replace(/\.jpeg$/i, '.jpg') : path.replace(/\.jpg$/i, '.jpeg');
  return paths.has(other) ? other : null;
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function noteFromKeep(keep: KeepNote, path: string, attachments: Attached[]): NoteContent {
  const title = cutNoteTitle((keep.title ?? '').trim());
  const body = bodyOf(keep);
  const created = timeOf(keep.createdTimestampUsec);
  const edited = timeOf(keep.userEditedTimestampUsec) ?? created;
  // Keep gives a note no id; its creation time (to the microsecond) names it across Takeout archives,
  // so a note edited since an earlier import replaces what that import brought.
  const usec = keep.createdTimestampUsec === undefined ? null : String(keep.createdTimestampUsec);
  const uid = usec && /^\d+$/.test(usec) ? `keep-${usec}` : `keep-${sha256(Buffer.from(path)).toString('hex')}`;
  const labels = (keep.labels ?? []).map((l) => l.name).filter((name) => name !== '');
  const color = keep.color && keep.color !== 'DEFAULT' ? keep.color : null;
  const properties = [
    `UID:${uid}`,
    ...(edited ? [`DTSTAMP:${utcStamp(edited)}`] : []),
    ...(created ? [`CREATED:${utcStamp(created)}`] : []),
    ...(edited ? [`LAST-MODIFIED:${utcStamp(edited)}`] : []),
    ...(title ? [`SUMMARY:${escapeText(title)}`] : []),
    ...(body ? [`DESCRIPTION:${escapeText(body)}`] : []),
    ...(labels.length > 0 ? [`CATEGORIES:${labels.map(escapeText).join(',')}`] : []),
    ...(color && CSS_COLORS[color] ? [`COLOR:${CSS_COLORS[color]}`] : []),
    ...(color ? [`X-KEEP-COLOR:${escapeText(color)}`] : []),
    ...(keep.isPinned ? ['X-KEEP-PINNED:TRUE'] : []),
    ...(keep.isArchived ? ['X-KEEP-ARCHIVED:TRUE'] : []),
    ...attachments.map(
      (a) =>
        `ATTACH;FMTTYPE=${a.contentType};FILENAME=${paramValue(a.filename)}:ni:///sha-256;${a.sha256.toString('base64url')}`,
    ),
  ];
  return { title, body, ical: journalText('-//Holdfast//Google Keep import//EN', properties) };
}

/** The text, else the checklist; then the links Keep found in it, one a line. */
function bodyOf(keep: KeepNote): string {
  const parts: string[] = [];
  const text = (keep.textContent ?? '').replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  if (text) parts.push(text);
  const list = (keep.listContent ?? []).map(
    (item) => `- [${item.isChecked ? 'x' : ' '}] ${item.text.replace(/\r\n?/g, '\n').replace(/\n/g, '\n  ')}`,
  );
  if (list.length > 0) parts.push(list.join('\n'));
  const links = (keep.annotations ?? []).flatMap((a) => {
    if (!a.url) return [];
    // Percent-encoding what a link destination cannot hold keeps the address the same address.
    const url = a.url.replace(/[\s<>()]/g, (c) => (c === '(' ? '%28' : c === ')' ? '%29' : encodeURIComponent(c)));
    const label = (a.title ?? '')
      .replace(/[[\]\\]/g, '\\$&')
      .replace(/\s+/g, ' ')
      .trim();
    return [label ? `[${label}](${url})` : `<${url}>`];
  });
  if (links.length > 0) parts.push(links.join('\n'));
  return parts.join('\n\n');
}

function timeOf(usec: number | string | undefined): Date | null {
  const value = Number(usec);
  if (usec === undefined || !Number.isFinite(value) || value <= 0) return null;
  const date = new Date(Math.floor(value / 1000));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A parameter value, quoted when it holds what a bare one cannot (RFC 5545 §3.2; a `"` cannot be written at all). */
function paramValue(value: string): string {
  const clean = value.replace(/["\r\n]/g, '');
  return /[;:,]/.test(clean) ? `"${clean}"` : clean;
}
