import { AppError } from '@holdfast/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Caller, Context } from '../context.js';
import { callerOf } from '../http/app.js';
import { deleteCollection } from '../sync/collections.js';
import { chargeDavDelete } from '../sync/mass-change.js';
import { createFolder } from './files-folders.js';
import { importDropped, listInbox } from './files-inbox.js';
import { filesPropfind } from './files-propfind.js';
import { FILES_PREFIX, type FilesTarget, mediaTypeOf, resolveFilesTarget, usableName } from './files-store.js';
import { copyOrMove } from './files-transfer.js';
import { deletePhoto, putPhoto, withUpload } from './files-upload.js';

/** RFC 4918 class 1 only: no locks, no calendar or address-book extensions. */
const DAV_HEADER = '1';
const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, MKCOL, COPY, MOVE';
const METHODS = [
  'OPTIONS',
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
] as HTTPMethods[];
const ATTEMPTS = 5;

/**
 * Photos and files over plain WebDAV at /dav/files/<user>/. Registered inside
 * the DAV plugin, so Basic authentication with app passwords runs before the
 * body is read; bodies here are streamed (to the blob store), not buffered.
 */
export function filesRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('dav', DAV_HEADER);
      if (request.method === 'OPTIONS') {
        return reply.code(200).header('allow', ALLOW).header('content-length', '0').send();
      }
      return dispatch(ctx, callerOf(request), request, reply);
    };
    for (const url of [FILES_PREFIX, `${FILES_PREFIX}/*`]) {
      app.route({ method: METHODS, url, exposeHeadRoute: false, handler });
    }
  };
}

async function dispatch(ctx: Context, caller: Caller, request: FastifyRequest, reply: FastifyReply) {
  const creating = request.method === 'PUT' || request.method === 'MKCOL';
  const target = await resolveFilesTarget(ctx, caller, request.url, creating ? 'conflict' : 'not_found');
  switch (request.method) {
    case 'PROPFIND': {
      const body = await readSmallBody(request);
      const xml = await filesPropfind(ctx, caller, target, body, depthOf(request));
      return reply
        .code(207)
        .type('application/xml; charset=utf-8')
        .header('cache-control', 'private, no-cache')
        .send(xml);
    }
    case 'GET':
    case 'HEAD':
      return getFile(ctx, request, reply, target);
    case 'PUT':
      return putFile(ctx, caller, request, reply, target);
    case 'DELETE':
      return deleteTarget(ctx, caller, reply, target);
    case 'MKCOL':
      return makeFolder(ctx, caller, request, reply, target);
    case 'COPY':
    case 'MOVE':
      return copyOrMove(ctx, caller, request, reply, target);
    default:
      throw new AppError('method_not_allowed', `${request.method} is not supported here.`, { allow: ALLOW });
  }
}

/** A PROPFIND body is small XML; anything else is refused before it is read far. */
async function readSmallBody(request: FastifyRequest): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new AppError('payload_too_large', 'PROPFIND bodies are limited to 1 MiB.');
    chunks.push(chunk);
  }
  return size === 0 ? null : Buffer.concat(chunks);
}

function depthOf(request: FastifyRequest): 0 | 1 {
  const depth = String(request.headers.depth ?? 'infinity')
    .trim()
    .toLowerCase();
  if (depth === '0') return 0;
  if (depth === '1' || depth === 'infinity') return 1;
  throw new AppError('invalid_request', `Invalid Depth header '${depth}'.`);
}

async function getFile(ctx: Context, request: FastifyRequest, reply: FastifyReply, target: FilesTarget) {
  if (target.kind === 'inbox-file') return getInboxFile(ctx, callerOf(request), request, reply, target.name);
  if (target.kind !== 'file')
    throw new AppError('method_not_allowed', 'Folders are listed with PROPFIND.', { allow: ALLOW });
  const file = target.file;
  if (!file?.sha256) throw new AppError('not_found', `No ${target.name} here.`);
  const etag = `"${file.sha256}"`;
  reply
    .header('etag', etag)
    .header('last-modified', new Date(file.updatedAt).toUTCString())
    .header('cache-control', 'private, no-cache')
    .header('content-type', file.contentType);
  if (request.headers['if-none-match']?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    return reply.code(304).send();
  }
  if (request.method === 'HEAD') return reply.code(200).header('content-length', String(file.size)).send();
  const stream = await ctx.blobs.get(file.sha256);
  if (!stream) throw new AppError('internal', `Blob ${file.sha256} is recorded but missing from storage.`);
  return reply.code(200).header('content-length', String(file.size)).send(stream);
}

async function getInboxFile(ctx: Context, caller: Caller, request: FastifyRequest, reply: FastifyReply, name: string) {
  const entry = (await listInbox(ctx, caller.userId)).find((r) => r.name === name);
  if (!entry) throw new AppError('not_found', `No ${name} here.`);
  reply
    .header('etag', entry.etag)
    .header('last-modified', new Date(entry.createdAt).toUTCString())
    .header('cache-control', 'private, no-cache')
    .header('content-type', entry.contentType)
    .header('content-length', String(entry.size));
  if (request.method === 'HEAD') return reply.code(200).send();
  if (entry.text !== undefined) return reply.code(200).send(Buffer.from(entry.text, 'utf8'));
  const stream = entry.sha256 ? await ctx.blobs.get(entry.sha256) : null;
  if (!stream) throw new AppError('internal', `The dropped file ${name} is missing from storage.`);
  return reply.code(200).send(stream);
}

function matchesIfMatch(request: FastifyRequest, sha256: string | null): boolean {
  const ifMatch = request.headers['if-match'];
  if (ifMatch === undefined) return true;
  if (!sha256) return false;
  return ifMatch.trim() === '*' || ifMatch.split(',').some((t) => t.trim() === `"${sha256}"`);
}

async function putFile(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
  target: FilesTarget,
) {
  if (target.kind === 'inbox-file') {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    const text = await importDropped(ctx, caller, target.name, request.raw, Number.isFinite(declared) ? declared : 0);
    return reply.code(201).type('text/plain; charset=utf-8').send(text);
  }
  if (target.kind !== 'file') {
    throw new AppError('method_not_allowed', 'Files are written inside a photo folder.', { allow: ALLOW });
  }
  if (!usableName(target.name)) throw new AppError('invalid_request', 'File names are 1 to 255 characters.');
  const contentType = mediaTypeOf(target.name, request.headers['content-type']);
  if (!contentType) throw new AppError('unsupported_media_type', 'Photo folders hold images and videos only.');
  if (request.headers['if-none-match']?.trim() === '*' && target.file) {
    throw new AppError('precondition_failed', 'If-None-Match failed: the file exists.');
  }
  if (!matchesIfMatch(request, target.file?.sha256 ?? null)) {
    throw new AppError('precondition_failed', 'If-Match failed: the file changed or does not exist.');
  }
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  const length = Number.isFinite(declared) ? declared : 0;
  // Recorded with the photo's revision: one commit for the upload.
  const blob = await withUpload(
    ctx,
    caller,
    request.raw,
    length,
    !target.file,
    async (stored) => stored,
    undefined,
    false,
  );
  let file = target.file;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) {
      const again = await resolveFilesTarget(ctx, caller, request.url);
      file = again.kind === 'file' ? again.file : null;
    }
    const result = await putPhoto(ctx, caller, target.folder, target.name, file, { ...blob, contentType });
    if (result.status === 'conflict') continue;
    if (result.status === 'rejected') throw new AppError(result.code, result.message);
    return reply
      .code(file ? 204 : 201)
      .header('etag', `"${blob.sha256}"`)
      .send();
  }
  throw new AppError('conflict', 'The file kept changing during the write; try again.');
}

async function deleteTarget(ctx: Context, caller: Caller, reply: FastifyReply, target: FilesTarget) {
  if (target.kind === 'folder') {
    await deleteCollection(ctx, caller, target.folder.id);
    return reply.code(204).send();
  }
  if (target.kind === 'inbox-file') {
    throw new AppError('forbidden', 'The Inbox keeps what was imported; undo an import with `holdfast import --undo`.');
  }
  if (target.kind !== 'file') throw new AppError('forbidden', 'Only photo folders and their files can be deleted.');
  if (!target.file) throw new AppError('not_found', `No ${target.name} here.`);
  await chargeDavDelete(ctx, caller, target.folder.id);
  const result = await deletePhoto(ctx, caller, target.folder, target.file);
  if (result.status === 'conflict') throw new AppError('conflict', 'The file changed during the delete; try again.');
  if (result.status === 'rejected') throw new AppError(result.code, result.message);
  return reply.code(204).send();
}

/** MKCOL makes a photo collection named as the folder. */
async function makeFolder(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
  target: FilesTarget,
) {
  if (target.kind !== 'absent-folder') throw folderExists();
  if (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') {
    throw new AppError('unsupported_media_type', 'MKCOL takes no body here.');
  }
  if (!(await createFolder(ctx, caller, target.name))) throw folderExists();
  return reply.code(201).header('content-length', '0').send();
}

/** RFC 4918 §9.3.1: MKCOL where something exists is 405. */
function folderExists(): AppError {
  return new AppError('method_not_allowed', 'Something already exists here.', { allow: ALLOW });
}
