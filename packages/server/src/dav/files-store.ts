import { AppError } from '@holdfast/protocol';
import { extensionFor, fileExtension, MEDIA_TYPES } from '../content/media-types.js';
import type { Caller, Context } from '../context.js';
import { listLiveCollectionsOfTypes } from '../store/collections.js';
import { findPhotoFileRows, listPhotoFileRows, type PhotoFileRow } from '../store/dav-files.js';
import { DAV_PREFIX, davSegments, encodeSegment } from './dav-paths.js';

/** Plain WebDAV (RFC 4918 class 1) for files: photo collections as folders, photos as files. */
export const FILES_PREFIX = `${DAV_PREFIX}/files`;

/** The folder that imports what is dropped into it; never a photo collection's name. */
export const INBOX = 'Inbox';

export interface PhotoFolder {
  id: string;
  /** The folder's name in URLs: the collection's name, or its id when the name cannot be used. */
  name: string;
}

export interface PhotoFile {
  id: string;
  name: string;
  headSeq: number;
  createdAt: number;
  updatedAt: number;
  sha256: string | null;
  contentType: string;
  size: number;
  content: Record<string, unknown>;
}

export type FilesTarget =
  | { kind: 'root' }
  | { kind: 'inbox' }
  | { kind: 'inbox-file'; name: string }
  | { kind: 'folder'; folder: PhotoFolder }
  | { kind: 'absent-folder'; name: string }
  | { kind: 'file'; folder: PhotoFolder; name: string; file: PhotoFile | null };

const MAX_SEGMENT = 255;

/** Whether a name can be one path segment as it is. */
export function usableName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_SEGMENT &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

/**
 * Folder names: a collection's name when it is usable, not the Inbox, not
 * another collection's id and not taken by an older collection; its id
 * otherwise. Ids are unique, so every folder has exactly one name and every
 * name one folder.
 */
export async function listFolders(ctx: Context, userId: string): Promise<PhotoFolder[]> {
  return nameFolders(await listLiveCollectionsOfTypes(ctx.db, userId, ['photos']));
}

/** `listFolders` over given collections (oldest first), so a rename can be tried before it is written. */
export function nameFolders(rows: { id: string; name: string }[]): PhotoFolder[] {
  const ids = new Set(rows.map((row) => row.id));
  const taken = new Set<string>([INBOX.toLowerCase()]);
  const out: PhotoFolder[] = [];
  for (const row of rows) {
    const name = row.name.trim();
    const byName =
      usableName(name) && !taken.has(name.toLowerCase()) && (!ids.has(name) || name === row.id) ? name : null;
    const chosen = byName ?? row.id;
    taken.add(chosen.toLowerCase());
    out.push({ id: row.id, name: chosen });
  }
  return out;
}

function parseJson(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const filenameOf = (content: Record<string, unknown>) => (typeof content.filename === 'string' ? content.filename : '');
const contentTypeOf = (row: PhotoFileRow) => row.blob_content_type ?? 'application/octet-stream';
const idNameOf = (row: PhotoFileRow) => `${row.id}${extensionFor(contentTypeOf(row))}`;

function toFile(row: PhotoFileRow, name: string, content: Record<string, unknown>): PhotoFile {
  const meta = parseJson(row.meta);
  return {
    id: row.id,
    name,
    headSeq: Number(row.head_seq),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    sha256: row.blob_sha256,
    contentType: contentTypeOf(row),
    size: typeof meta.size === 'number' ? meta.size : 0,
    content,
  };
}

/**
 * File names in a folder: the photo's `filename` when it is usable and no
 * older photo of the folder has it, else `<id><extension>`. The oldest photo
 * keeps a shared name, so a name always addresses the same photo.
 * `ownerOf` below applies the same rule to one name; keep the two in step.
 */
function toFiles(rows: PhotoFileRow[]): PhotoFile[] {
  const taken = new Set<string>();
  return rows.map((row) => {
    const content = parseJson(row.content);
    const filename = filenameOf(content);
    const name = usableName(filename) && !taken.has(filename) ? filename : idNameOf(row);
    taken.add(name);
    return toFile(row, name, content);
  });
}

export async function listFiles(ctx: Context, userId: string, folder: PhotoFolder): Promise<PhotoFile[]> {
  return toFiles(await listPhotoFileRows(ctx.db, userId, folder.id));
}

/** The ids whose `<id><extension>` may be this name. */
function idsNamed(name: string): string[] {
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  const named = extension !== '' && extensionFor(MEDIA_TYPES.get(extension.slice(1)) ?? '') === extension;
  return named ? [name, name.slice(0, dot)] : [name];
}

/**
 * Rows read per lookup: the candidates by id and the oldest by filename, then
 * more when the text match found rows with other filenames (SQLite's LIKE
 * ignores ASCII case), then the whole folder.
 */
const PAGES = (ids: number) => [ids + 1, 64];
/** Names that depend on names that depend on names...: past this, the folder is listed. */
const MAX_DEPTH = 4;
const UNDECIDED = 'undecided';

/**
 * The oldest photo (older than `before`, when given) that `toFiles` would
 * name `name`, reading only the photos that could hold it: the one whose
 * `filename` it is (only the oldest such can have it: a later one finds it
 * taken) and those whose `<id><extension>` it is. A photo whose id name it is
 * has it when its own filename is unusable or held by an older photo, which
 * is the same question for that filename, asked again. UNDECIDED when the
 * answer needs more reading than this allows; the caller then lists the folder.
 */
async function ownerOf(
  ctx: Context,
  userId: string,
  folderId: string,
  name: string,
  before: PhotoFileRow | null,
  depth: number,
): Promise<PhotoFileRow | null | typeof UNDECIDED> {
  if (depth > MAX_DEPTH) return UNDECIDED;
  const byFilename = usableName(name);
  const ids = idsNamed(name);
  for (const limit of PAGES(ids.length)) {
    const rows = await findPhotoFileRows(ctx.db, userId, folderId, {
      filename: byFilename ? name : null,
      ids,
      before,
      limit,
    });
    for (const row of rows) {
      const filename = filenameOf(parseJson(row.content));
      // Every older photo that could hold the name has been passed without holding it.
      if (byFilename && filename === name) return row;
      if (idNameOf(row) !== name) continue;
      if (!usableName(filename)) return row;
      const holder = await ownerOf(ctx, userId, folderId, filename, row, depth + 1);
      if (holder === UNDECIDED) return UNDECIDED;
      if (holder) return row;
    }
    if (rows.length < limit) return null;
  }
  return UNDECIDED;
}

/** The file of a folder by name, reading a few rows rather than the whole folder. */
export async function findFile(ctx: Context, userId: string, folder: PhotoFolder, name: string) {
  const row = await ownerOf(ctx, userId, folder.id, name, null, 0);
  if (row === UNDECIDED) return (await listFiles(ctx, userId, folder)).find((f) => f.name === name) ?? null;
  return row ? toFile(row, name, parseJson(row.content)) : null;
}

const notFound = (path: string) => new AppError('not_found', `Nothing at ${path}.`);

/**
 * What a path under /dav/files names for this caller; another user's paths are 404 like missing ones.
 * A file in a folder that does not exist is `conflict` (409) where it would be made (RFC 4918 §9.7.1),
 * else `not_found`: clients such as rclone look a destination up before they copy to it.
 */
export async function resolveFilesTarget(
  ctx: Context,
  caller: Caller,
  path: string,
  missingFolder: 'conflict' | 'not_found' = 'conflict',
): Promise<FilesTarget> {
  const segments = davSegments(path) ?? [];
  if (segments[0] !== 'files') throw notFound(path);
  const [, user, folderName, name, ...rest] = segments;
  if (user !== caller.username || rest.length > 0) throw notFound(path);
  if (folderName === undefined) return { kind: 'root' };
  if (folderName === INBOX) return name === undefined ? { kind: 'inbox' } : { kind: 'inbox-file', name };
  const folder = (await listFolders(ctx, caller.userId)).find((f) => f.name === folderName);
  if (!folder) {
    if (name !== undefined)
      throw new AppError(missingFolder, `There is no folder ${folderName}; make it with MKCOL first.`);
    return { kind: 'absent-folder', name: folderName };
  }
  if (name === undefined) return { kind: 'folder', folder };
  const file = await findFile(ctx, caller.userId, folder, name);
  return { kind: 'file', folder, name, file };
}

export const fileHrefs = {
  root: (user: string) => `${FILES_PREFIX}/${encodeSegment(user)}/`,
  inbox: (user: string) => `${FILES_PREFIX}/${encodeSegment(user)}/${INBOX}/`,
  inboxFile: (user: string, name: string) => `${FILES_PREFIX}/${encodeSegment(user)}/${INBOX}/${encodeSegment(name)}`,
  folder: (user: string, folder: PhotoFolder) =>
    `${FILES_PREFIX}/${encodeSegment(user)}/${encodeSegment(folder.name)}/`,
  file: (user: string, folder: PhotoFolder, name: string) =>
    `${FILES_PREFIX}/${encodeSegment(user)}/${encodeSegment(folder.name)}/${encodeSegment(name)}`,
};

/**
 * The media type of an uploaded file: the declared one when it is an image or
 * video type, else the one its extension names; null when it is neither.
 */
export function mediaTypeOf(name: string, declared: string | undefined): string | null {
  const type = (declared ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (/^(image|video)\/[a-z0-9.+-]{1,100}$/.test(type)) return type;
  return MEDIA_TYPES.get(fileExtension(name)) ?? null;
}
