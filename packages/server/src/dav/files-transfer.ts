import { AppError } from '@holdfast/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, Context } from '../context.js';
import { chargeDavDelete } from '../sync/mass-change.js';
import { DAV_PREFIX, davSegments } from './dav-paths.js';
import { createFolder, namedAsAsked, photosToCopy, renameFolder, writeCopies } from './files-folders.js';
import { importDropped, listInbox } from './files-inbox.js';
import { type FilesTarget, type PhotoFile, type PhotoFolder, resolveFilesTarget, usableName } from './files-store.js';
import { deletePhoto, putPhoto } from './files-upload.js';
import { errorBody } from './xml-write.js';

const ATTEMPTS = 5;

interface Outcome {
  status: 201 | 204;
  /** The import report, for a file copied or moved into the Inbox. */
  report?: string;
}

/** A file to copy or move: one that exists in a photo folder. */
interface Source {
  folder: PhotoFolder;
  file: PhotoFile;
}

/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9) inside the caller's /dav/files/ root.
 * Items cannot change collection in the revision log, so a move keeps the
 * item (its id and history) when it stays in its folder and is a new item
 * plus a tombstone when it changes folder; replacing an existing file writes
 * a new revision of that file. Blobs are shared, never copied.
 */
export async function copyOrMove(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
  target: FilesTarget,
): Promise<FastifyReply> {
  const move = request.method === 'MOVE';
  if (target.kind === 'absent-folder') throw new AppError('not_found', `There is no folder ${target.name}.`);
  if (target.kind === 'file' && !target.file) throw new AppError('not_found', `No ${target.name} here.`);
  if (target.kind === 'root' || target.kind === 'inbox' || target.kind === 'inbox-file') {
    throw new AppError('forbidden', 'Only photo folders and their files can be copied or moved.');
  }
  const path = destinationPath(request, caller);
  if (path === null) {
    return reply
      .code(502)
      .type('application/xml; charset=utf-8')
      .send(errorBody(null, 'The Destination is not in these folders; copy it with GET and PUT instead.'));
  }
  const overwrite = overwriteOf(request);
  let source: FilesTarget = target;
  let destination = await resolveFilesTarget(ctx, caller, path);
  let outcome: Outcome | 'conflict' = 'conflict';
  if (source.kind === 'folder') {
    outcome = await transferFolder(ctx, caller, request, source.folder, destination, overwrite, move);
  } else {
    for (let attempt = 0; attempt < ATTEMPTS && outcome === 'conflict'; attempt++) {
      if (attempt > 0) {
        source = await resolveFilesTarget(ctx, caller, request.url, 'not_found');
        destination = await resolveFilesTarget(ctx, caller, path);
      }
      if (source.kind !== 'file' || !source.file) throw new AppError('not_found', 'The file is gone.');
      outcome = await transferFile(ctx, caller, { folder: source.folder, file: source.file }, destination, {
        overwrite,
        move,
      });
    }
  }
  if (outcome === 'conflict') throw new AppError('conflict', 'The files kept changing; try again.');
  if (outcome.report !== undefined) return reply.code(201).type('text/plain; charset=utf-8').send(outcome.report);
  return reply.code(outcome.status).header('content-length', '0').send();
}

/**
 * The Destination as a path under the caller's /dav/files/ root; null when it
 * names another server or another part of this one (502). Dot segments and
 * encoded slashes are refused, as is another user's root (403).
 */
function destinationPath(request: FastifyRequest, caller: Caller): string | null {
  const header = request.headers.destination;
  const value = typeof header === 'string' ? header.trim() : '';
  if (value === '') throw new AppError('invalid_request', 'COPY and MOVE need a Destination header.');
  let path = value;
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
    let url: URL;
    let here: URL;
    try {
      url = new URL(value);
      here = new URL(`${url.protocol}//${request.host}`);
    } catch {
      throw new AppError('invalid_request', 'The Destination header is not a URL.');
    }
    if (url.host !== here.host || url.username !== '' || url.password !== '') return null;
    path = url.pathname;
  } else if (!value.startsWith('/')) {
    throw new AppError('invalid_request', 'The Destination header is not an absolute URL or path.');
  }
  if (path !== DAV_PREFIX && !path.startsWith(`${DAV_PREFIX}/`)) return null;
  if (/%2f|%5c|%00/i.test(path)) throw new AppError('forbidden', 'The Destination holds an encoded slash.');
  const segments = davSegments(path);
  if (!segments) throw new AppError('forbidden', 'The Destination is not a usable path.');
  if (segments[0] !== 'files') return null;
  if (segments[1] !== caller.username) {
    throw new AppError('forbidden', 'The Destination must be in your own folders.');
  }
  return path;
}

/** RFC 4918 §10.6: T (the default) replaces an existing destination, F refuses it with 412. */
function overwriteOf(request: FastifyRequest): boolean {
  const value = request.headers.overwrite;
  if (value === undefined) return true;
  const flag = String(value).trim().toUpperCase();
  if (flag === 'T' || flag === 'F') return flag === 'T';
  throw new AppError('invalid_request', 'The Overwrite header is T or F.');
}

const exists = () => new AppError('precondition_failed', 'The Destination exists and Overwrite is F.');
const sameResource = () => new AppError('forbidden', 'The Destination is the source itself.');

async function transferFile(
  ctx: Context,
  caller: Caller,
  source: Source,
  destination: FilesTarget,
  { overwrite, move }: { overwrite: boolean; move: boolean },
): Promise<Outcome | 'conflict'> {
  const { file } = source;
  if (destination.kind === 'inbox-file') {
    if (!overwrite && (await listInbox(ctx, caller.userId)).some((e) => e.name === destination.name)) throw exists();
    const stream = file.sha256 ? await ctx.blobs.get(file.sha256) : null;
    if (!stream) throw new AppError('internal', `The bytes of ${file.name} are missing from storage.`);
    // Imported exactly as a file dropped into the Inbox.
    const report = await importDropped(ctx, caller, destination.name, stream, file.size);
    if (move) await removeSource(ctx, caller, source);
    return { status: 201, report };
  }
  if (destination.kind !== 'file') {
    if (destination.kind === 'folder' && !overwrite) throw exists();
    throw new AppError('forbidden', 'A file goes inside a photo folder, under a file name.');
  }
  if (!usableName(destination.name)) throw new AppError('invalid_request', 'File names are 1 to 255 characters.');
  const replaced = destination.file;
  if (replaced?.id === file.id) throw sameResource();
  if (replaced && !overwrite) throw exists();
  if (!file.sha256) throw new AppError('not_found', `No ${file.name} here.`);
  // The caller's blob already: its stored size is looked up, never taken from the photo's metadata.
  const blob = { sha256: file.sha256, contentType: file.contentType };
  if (move && !replaced && destination.folder.id === source.folder.id) {
    // A rename: the same item, a new revision with the new file name.
    const result = await putPhoto(ctx, caller, source.folder, destination.name, file, blob);
    return settled(result) ?? { status: 201 };
  }
  // The replaced file is gone from the listing: a delete, as DELETE would count it.
  if (move && replaced) await chargeDavDelete(ctx, caller, source.folder.id);
  const result = await putPhoto(ctx, caller, destination.folder, destination.name, replaced, blob, file.content);
  const failed = settled(result);
  if (failed) return failed;
  if (move) await removeSource(ctx, caller, source);
  return { status: replaced ? 204 : 201 };
}

/** 'conflict' to try again from fresh heads; throws a refusal; null when applied. */
function settled(result: Awaited<ReturnType<typeof putPhoto>>): 'conflict' | null {
  if (result.status === 'conflict') return 'conflict';
  if (result.status === 'rejected') throw new AppError(result.code, result.message);
  return null;
}

/** The tombstone that ends a move; the destination is already written, so a conflict keeps both. */
async function removeSource(ctx: Context, caller: Caller, source: Source) {
  const result = await deletePhoto(ctx, caller, source.folder, source.file);
  if (result.status === 'conflict') {
    throw new AppError('conflict', 'The file changed during the move: it is kept, beside its copy at the destination.');
  }
  if (result.status === 'rejected') throw new AppError(result.code, result.message);
}

/**
 * A folder is a photo collection: MOVE renames it (RFC 4918 §9.9.2: always
 * depth infinity), COPY makes a new one with copies of its photos (Depth
 * infinity, the default) or empty (Depth 0). An existing folder is never
 * replaced, and there are no folders inside folders.
 */
async function transferFolder(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  folder: PhotoFolder,
  destination: FilesTarget,
  overwrite: boolean,
  move: boolean,
): Promise<Outcome> {
  const depth = String(request.headers.depth ?? 'infinity')
    .trim()
    .toLowerCase();
  if (depth !== 'infinity' && (move || depth !== '0')) {
    throw new AppError(
      'invalid_request',
      `${move ? 'MOVE' : 'COPY'} of a folder takes Depth: infinity${move ? '' : ' or 0'}.`,
    );
  }
  if (destination.kind === 'folder') {
    if (destination.folder.id === folder.id) throw sameResource();
    if (!overwrite) throw exists();
    throw new AppError('forbidden', 'A folder does not replace another; delete the other first or choose a new name.');
  }
  if (destination.kind !== 'absent-folder') {
    throw new AppError(
      'forbidden',
      'Folders sit at the top level, beside the Inbox; there are no folders inside folders.',
    );
  }
  if (move) {
    await renameFolder(ctx, caller, folder, destination.name);
    return { status: 201 };
  }
  if (!(await namedAsAsked(ctx, caller, destination.name))) {
    throw new AppError('forbidden', `Another folder has the name ${destination.name} (folder names ignore case).`);
  }
  const photos = depth === 'infinity' ? await photosToCopy(ctx, caller, folder) : [];
  const made = await createFolder(ctx, caller, destination.name);
  if (!made) {
    // Made by a concurrent request between the lookup and here.
    if (!overwrite) throw exists();
    throw new AppError('forbidden', 'A folder does not replace another; delete the other first or choose a new name.');
  }
  await writeCopies(ctx, caller, photos, made);
  return { status: 201 };
}
