import { createHash, randomUUID } from 'node:crypto';
import { AppError, idSchema, type PushChange } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { listLiveCollectionsOfTypes, readCollection } from '../store/collections.js';
import { createCollection, updateCollection } from '../sync/collections.js';
import { pushChanges } from '../sync/push.js';
import { checkRoomFor } from '../sync/quota.js';
import { listFiles, nameFolders, type PhotoFile, type PhotoFolder, usableName } from './files-store.js';

/** Photos written per commit when a folder is copied. */
const COPY_BATCH = 100;

/**
 * The id a new folder's collection takes: the name itself when it is a valid
 * id, else one derived from the name. Either way two MKCOLs of one name race
 * for the same id (clients such as rclone send them from parallel transfers),
 * so exactly one makes the collection instead of two folders of one name.
 */
function folderId(name: string): string {
  if (idSchema.safeParse(name).success) return name;
  return `folder-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** Folder names are what MKCOL accepts: one usable path segment of at most 200 characters. */
export function checkFolderName(name: string): void {
  if (!usableName(name) || name.length > 200) throw new AppError('forbidden', 'Folder names are 1 to 200 characters.');
}

/** Makes a photo collection named as the folder; null when one of that name exists (or was just made). */
export async function createFolder(ctx: Context, caller: Caller, name: string): Promise<PhotoFolder | null> {
  checkFolderName(name);
  const derived = folderId(name);
  const existing = await readCollection(ctx.db, caller.userId, derived);
  // A deleted collection keeps its id, and a live one of that id may be named otherwise now: a fresh id then.
  const id = existing && (existing.deleted || existing.name !== name) ? randomUUID() : derived;
  if (existing && id === derived) return null;
  try {
    await createCollection(ctx, caller, { id, type: 'photos', name, description: '', color: null });
  } catch (error) {
    // A concurrent MKCOL of the same name made it first.
    if (error instanceof AppError && error.code === 'conflict') return null;
    throw error;
  }
  return { id, name };
}

/** Whether a new folder of this name would be listed under it: no other folder has the name, in any case. */
export async function namedAsAsked(ctx: Context, caller: Caller, name: string): Promise<boolean> {
  checkFolderName(name);
  const rows = await listLiveCollectionsOfTypes(ctx.db, caller.userId, ['photos']);
  return nameFolders([...rows, { id: '', name }]).at(-1)?.name === name;
}

/**
 * Renames a folder's collection, a revision in the log like any collection
 * change. Refused when the folder would not then be listed under the new
 * name (another folder has it, in any case) or when another folder listed
 * under its collection's name would lose it: a rename never moves another
 * folder's URL.
 */
export async function renameFolder(ctx: Context, caller: Caller, folder: PhotoFolder, name: string): Promise<void> {
  checkFolderName(name);
  const rows = await listLiveCollectionsOfTypes(ctx.db, caller.userId, ['photos']);
  const before = new Map(nameFolders(rows).map((f) => [f.id, f.name]));
  const after = nameFolders(rows.map((row) => (row.id === folder.id ? { ...row, name } : row)));
  for (const other of after) {
    const was = before.get(other.id);
    const moved = other.id === folder.id ? other.name !== name : other.name !== was && was !== other.id;
    if (moved) {
      throw new AppError(
        'forbidden',
        `A folder cannot be renamed to ${name}: another folder has that name (folder names ignore case).`,
      );
    }
  }
  await updateCollection(ctx, caller, folder.id, { name });
}

/**
 * The photos a folder copy writes, counted against the item quota before
 * anything (the new folder too) is written.
 */
export async function photosToCopy(ctx: Context, caller: Caller, from: PhotoFolder): Promise<PhotoFile[]> {
  const files = (await listFiles(ctx, caller.userId, from)).filter((f) => f.sha256);
  // The writes below are counted as they are made; this only refuses a copy that cannot fit.
  await checkRoomFor(ctx, caller.userId, { items: files.length, bytes: 0 });
  return files;
}

/**
 * Writes copies of photos into a folder as new items under the same names,
 * with the same blobs (no bytes are copied) and content.
 */
export async function writeCopies(ctx: Context, caller: Caller, files: PhotoFile[], to: PhotoFolder) {
  for (let start = 0; start < files.length; start += COPY_BATCH) {
    const changes: PushChange[] = files.slice(start, start + COPY_BATCH).map((file) => ({
      clientChangeId: `dav-${randomUUID()}`,
      collectionId: to.id,
      itemId: randomUUID(),
      op: 'put',
      baseRevision: null,
      content: { ...file.content, filename: file.name },
      blob: { sha256: file.sha256 as string, contentType: file.contentType },
    }));
    const { results } = await pushChanges(ctx, caller, changes, {
      receipts: false,
      collectionTypes: new Map([[to.id, 'photos']]),
    });
    const refused = results.find((r) => r.status !== 'applied');
    if (refused?.status === 'rejected') throw new AppError(refused.code, refused.message);
    if (refused) throw new AppError('conflict', 'The folder changed during the copy; try again.');
  }
}
