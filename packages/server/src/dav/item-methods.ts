import { randomUUID } from 'node:crypto';
import { AppError, type PushChange, type PushResult } from '@holdfast/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { noteFromJournal } from '../content/vjournal.js';
import type { Caller, Context } from '../context.js';
import { chargeDavDelete } from '../sync/mass-change.js';
import { pushChanges } from '../sync/push.js';
import { davError } from './dav-error.js';
import { findItemsByName, itemIdForNewName } from './dav-names.js';
import type { DavResource } from './dav-paths.js';
import type { DavCollection, DavItem } from './dav-store.js';
import { COMPONENTS, contentTypeOf, etagOf } from './properties.js';
import { CALDAV, CARDDAV } from './xml-write.js';

type ItemTarget = DavResource & { kind: 'item' };

/** Attempts at a write whose base moved underneath it (a concurrent write) before giving up with 409. */
const ATTEMPTS = 5;
const MAX_NAME_LENGTH = 255;

/** Entity tags in an If-Match / If-None-Match list; weak ones are marked. */
function entityTags(header: string): { tag: string; weak: boolean }[] {
  return [...header.matchAll(/(W\/)?("[^"]*")/g)].map((m) => ({ tag: m[2] as string, weak: m[1] !== undefined }));
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * RFC 9110 preconditions for writes against the item as it is now (null or
 * deleted: no current representation). If-Match uses strong comparison.
 */
function checkWritePreconditions(request: FastifyRequest, current: DavItem | null): void {
  const live = current && !current.deleted ? current : null;
  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined) {
    const ok =
      live !== null && (ifMatch.trim() === '*' || entityTags(ifMatch).some((t) => !t.weak && t.tag === etagOf(live)));
    if (!ok) throw new AppError('precondition_failed', 'If-Match failed: the resource changed or does not exist.');
  }
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifNoneMatch !== undefined && live !== null) {
    if (ifNoneMatch.trim() === '*' || entityTags(ifNoneMatch).some((t) => t.tag === etagOf(live))) {
      throw new AppError('precondition_failed', 'If-None-Match failed: the resource exists.');
    }
  }
}

/** GET and HEAD: exactly the bytes last stored, with the content hash as a strong ETag. */
export function getItem(request: FastifyRequest, reply: FastifyReply, target: ItemTarget): FastifyReply {
  const item = target.item;
  if (!item || item.deleted) throw new AppError('not_found', `No ${target.name} here.`);
  const etag = etagOf(item);
  reply
    .header('etag', etag)
    .header('last-modified', new Date(item.updatedAt).toUTCString())
    .header('cache-control', 'private, no-cache')
    .type(contentTypeOf(target.collection));
  const ifNoneMatch = header(request, 'if-none-match');
  if (
    ifNoneMatch !== undefined &&
    (ifNoneMatch.trim() === '*' || entityTags(ifNoneMatch).some((t) => t.tag === etag))
  ) {
    return reply.code(304).send();
  }
  if (request.method === 'HEAD') return reply.code(200).header('content-length', String(item.size)).send();
  const body = Buffer.from(item.content ?? '', 'utf8');
  return reply.code(200).header('content-length', String(body.length)).send(body);
}

// ignoreBOM keeps a leading BOM in the text, so GET returns the very bytes that were PUT. Stateless between
// calls (no streaming), so one decoder serves every request.
const utf8Body = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBody(request: FastifyRequest): string {
  const encoding = header(request, 'content-encoding');
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new AppError('unsupported_media_type', `Content-Encoding ${encoding} is not supported.`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header(request, 'content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw new AppError('unsupported_media_type', `Send UTF-8 (got charset ${charset}).`);
  }
  const body = request.body;
  if (!(body instanceof Buffer) || body.length === 0) throw new AppError('invalid_request', 'PUT needs a body.');
  try {
    return utf8Body.decode(body);
  } catch {
    throw new AppError('unsupported_media_type', 'The body is not valid UTF-8.');
  }
}

/**
 * Calendars hold VEVENTs and VTODOs, task lists VTODOs only, notes VJOURNALs; a PUT of
 * another kind fails with the RFC 4791 precondition.
 */
function checkComponent(collection: DavCollection, text: string): void {
  if (collection.type === 'contacts') return;
  const wanted = COMPONENTS[collection.type];
  const found = new Set(
    [...text.matchAll(/^BEGIN:(VEVENT|VTODO|VJOURNAL|VFREEBUSY)\s*$/gim)].map((m) => (m[1] as string).toUpperCase()),
  );
  if (found.size > 0 && !wanted.some((kind) => found.has(kind))) {
    throw davError('forbidden', `This collection holds ${wanted.join(' and ')} only.`, {
      ns: CALDAV,
      name: 'supported-calendar-component',
    });
  }
}

/** What a PUT body is as item content: the text, or for notes the note the journal entry stands for. */
function contentOf(collection: DavCollection, text: string): unknown {
  if (collection.type !== 'notes') return text;
  try {
    return noteFromJournal(text);
  } catch (error) {
    if (error instanceof AppError)
      throw davError('forbidden', error.message, { ns: CALDAV, name: 'valid-calendar-data' });
    throw error;
  }
}

function rejection(collection: DavCollection, result: PushResult & { status: 'rejected' }): AppError {
  switch (result.code) {
    case 'invalid_content':
      return collection.type === 'contacts'
        ? davError('forbidden', result.message, { ns: CARDDAV, name: 'valid-address-data' })
        : davError('forbidden', result.message, { ns: CALDAV, name: 'valid-calendar-data' });
    case 'invalid_request':
      // The only request-level rejection left is an item id used in another collection: a name clash.
      return new AppError('conflict', result.message);
    default:
      return new AppError(result.code, result.message);
  }
}

/** One change through the revision log, with the new head's content hash (null for a delete). */
async function pushOne(
  ctx: Context,
  caller: Caller,
  collection: DavCollection,
  change: Omit<PushChange, 'clientChangeId'>,
  current: DavItem | null,
): Promise<{ result: PushResult; hash: string | null }> {
  const clientChangeId = `dav-${randomUUID()}`;
  // The id is fresh on every request, so a receipt for it could never be read back. The collection and
  // the item were resolved from the path just before, so the collection's type and whether the item is
  // new need not be read again.
  const { results, hashes } = await pushChanges(ctx, caller, [{ clientChangeId, ...change }], {
    receipts: false,
    collectionTypes: new Map([[change.collectionId, collection.type]]),
    itemsNew: new Map([[change.itemId, current === null || current.deleted]]),
  });
  const [result] = results;
  if (!result) throw new AppError('internal', 'The write returned no result.');
  return { result, hash: hashes.get(clientChangeId) ?? null };
}

async function reload(ctx: Context, caller: Caller, target: ItemTarget): Promise<DavItem | null> {
  const items = await findItemsByName(ctx, caller.userId, target.collection, [target.name], false);
  return items.get(target.name) ?? null;
}

/**
 * PUT through the revision log: the item's current head is the base, so a
 * concurrent writer is never overwritten blindly. If the head moved between
 * reading it and writing, the preconditions are checked again against the
 * new head and the write retried; a client that sent If-Match gets 412.
 */
export async function putItem(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
  target: ItemTarget,
): Promise<FastifyReply> {
  if (target.name.length > MAX_NAME_LENGTH)
    throw new AppError('invalid_request', 'Resource names are limited to 255 characters.');
  const text = decodeBody(request);
  checkComponent(target.collection, text);
  const content = contentOf(target.collection, text);
  let current = target.item;
  let mapName = false;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) current = await reload(ctx, caller, target);
    checkWritePreconditions(request, current);
    const itemId =
      current?.id ??
      (await itemIdForNewName(ctx, caller.userId, target.collection, target.name, {
        mapName,
        vacancy: attempt === 0 ? target.vacancy : undefined,
        receipt: caller.receipt,
      }));
    const { result, hash } = await pushOne(
      ctx,
      caller,
      target.collection,
      {
        collectionId: target.collection.id,
        itemId,
        op: 'put',
        baseRevision: current?.headSeq ?? null,
        content,
      },
      current,
    );
    if (result.status === 'conflict') continue;
    if (result.status === 'rejected' && result.code === 'invalid_request' && current === null && !mapName) {
      // A concurrent PUT of the same `<id>.ics` into another collection took the id between our check and
      // our write: give this name its own mapped id instead.
      mapName = true;
      continue;
    }
    if (result.status === 'rejected') throw rejection(target.collection, result);
    const created = current === null || current.deleted;
    if (hash) reply.header('etag', `"${hash}"`);
    return reply.code(created ? 201 : 204).send();
  }
  throw new AppError('conflict', 'The resource kept changing during the write; try again.');
}

/** DELETE of one item: a tombstone revision; the history keeps every earlier version. */
export async function deleteItem(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
  target: ItemTarget,
): Promise<FastifyReply> {
  let current = target.item;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) current = await reload(ctx, caller, target);
    if (!current || current.deleted) throw new AppError('not_found', `No ${target.name} here.`);
    checkWritePreconditions(request, current);
    if (attempt === 0) await chargeDavDelete(ctx, caller, target.collection.id);
    const { result } = await pushOne(
      ctx,
      caller,
      target.collection,
      {
        collectionId: target.collection.id,
        itemId: current.id,
        op: 'delete',
        baseRevision: current.headSeq,
      },
      current,
    );
    if (result.status === 'conflict') continue;
    if (result.status === 'rejected') throw rejection(target.collection, result);
    return reply.code(204).send();
  }
  throw new AppError('conflict', 'The resource kept changing during the delete; try again.');
}
