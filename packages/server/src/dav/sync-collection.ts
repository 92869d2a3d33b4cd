import { AppError } from '@holdfast/protocol';
import { collectionDeletedSince } from '../store/dav-names.js';
import { readHead } from '../store/revision-log.js';
import { davError } from './dav-error.js';
import { type DavResource, hrefOf } from './dav-paths.js';
import { changedItems, type DavItem, findItemsById, latestCollectionSeq, listItemsPage } from './dav-store.js';
import { type PropRequest, parsePropRequest, type Scope } from './properties.js';
import { itemTarget, respond, wantsData } from './propfind.js';
import { parseSyncToken, syncTokenAt } from './sync-token.js';
import { childOf, type XmlElement } from './xml-parse.js';
import { DAV, d, escapeText, statusResponse } from './xml-write.js';

type CollectionTarget = DavResource & { kind: 'collection' };

/**
 * A safety bound on one incremental report when the client sets no limit.
 * Some clients (tsdav) treat the 507 of a truncated report as failure, so it
 * is far above any real backlog.
 */
const DEFAULT_CHANGE_LIMIT = 100_000;
const PAGE = 200;
const TRUNCATED = { ns: DAV, name: 'number-of-matches-within-limits' };

interface SyncContext {
  scope: Scope;
  target: CollectionTarget;
  request: PropRequest;
  withData: boolean;
  generation: string;
  limit: number | null;
}

/**
 * RFC 6578 sync-collection, answered from the revision log.
 *
 * With no token: every live member, and a token for the collection's latest
 * revision. With a token: the items with revisions after it, each once, in
 * its current state (404 if deleted), read from the log's per-collection
 * index so the cost follows the number of changes. When a limit truncates
 * the answer, the token covers exactly the revisions reported and the
 * collection itself is listed with 507, so the client asks again.
 *
 * The head is read first: every revision at or below it is committed, and
 * later ones are reported next time even if their effect shows up now.
 */
export async function syncCollection(
  scope: Scope,
  target: CollectionTarget,
  body: XmlElement,
): Promise<AsyncIterable<string>> {
  const level = childOf(body, DAV, 'sync-level')?.text.trim() ?? '1';
  if (level !== '1' && level !== 'infinite') throw new AppError('invalid_request', `Unknown sync-level '${level}'.`);
  const token = childOf(body, DAV, 'sync-token')?.text.trim() ?? '';
  const limitText = childOf(childOf(body, DAV, 'limit') ?? body, DAV, 'nresults')?.text.trim();
  const limit = limitText === undefined ? null : Number(limitText);
  if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
    throw new AppError('invalid_request', `Invalid nresults '${limitText}'.`);
  }
  const request = parsePropRequest(body);
  const generation = await scope.generation();
  const head = await readHead(scope.ctx.db);
  const after = token === '' ? null : await parseSyncToken(scope.ctx.db, token, generation, head);
  if (
    after !== null &&
    (await collectionDeletedSince(scope.ctx.db, scope.caller.userId, target.collection.id, after, head))
  ) {
    throw davError(
      'forbidden',
      'Invalid sync token: it was issued before this collection was deleted and made again; synchronise again from scratch.',
      { ns: DAV, name: 'valid-sync-token' },
    );
  }
  const latest = await latestCollectionSeq(scope.ctx, scope.caller.userId, target.collection.id, head);
  const sync: SyncContext = { scope, target, request, withData: wantsData(request), generation, limit };
  return after === null ? initialSync(sync, latest) : incrementalSync(sync, after, head, latest);
}

const member = (sync: SyncContext, item: DavItem) =>
  respond(sync.scope, itemTarget(sync.target.family, sync.target.collection, item), sync.request);
const tokenElement = async (sync: SyncContext, seq: number) =>
  d('sync-token', escapeText(await syncTokenAt(sync.scope.ctx.db, sync.generation, seq)));
const truncated = (sync: SyncContext) =>
  statusResponse(hrefOf(sync.target, sync.scope.caller.username), 507, TRUNCATED);

async function* initialSync(sync: SyncContext, latest: number): AsyncGenerator<string> {
  const { scope, target, limit } = sync;
  let afterSeq = 0;
  let listed = 0;
  for (;;) {
    const size = limit === null ? PAGE : Math.min(PAGE, limit - listed + 1);
    const page = await listItemsPage(scope.ctx, scope.caller.userId, target.collection, {
      afterSeq,
      limit: size,
      withContent: sync.withData,
    });
    const room = limit === null ? page.length : Math.min(page.length, limit - listed);
    const parts: string[] = [];
    for (const item of page.slice(0, room)) parts.push(await member(sync, item));
    yield parts.join('');
    listed += room;
    if (room < page.length) {
      // Truncated: the token covers the items listed, which are those with the lowest heads.
      yield truncated(sync);
      yield await tokenElement(sync, page[room - 1]?.headSeq ?? afterSeq);
      return;
    }
    const last = page.at(-1);
    if (!last || page.length < size) break;
    afterSeq = last.headSeq;
  }
  yield await tokenElement(sync, latest);
}

async function incrementalSync(
  sync: SyncContext,
  after: number,
  head: number,
  latest: number,
): Promise<AsyncIterable<string>> {
  const { scope, target } = sync;
  const { ctx, caller } = scope;
  const cap = sync.limit ?? DEFAULT_CHANGE_LIMIT;
  const changes = await changedItems(ctx, caller.userId, target.collection.id, after, head, cap + 1);
  const cut = changes.length > cap;
  const reported = changes.slice(0, cap);
  const nextSeq = cut ? (reported.at(-1)?.seq ?? after) : Math.max(after, latest);
  return (async function* () {
    for (let i = 0; i < reported.length; i += PAGE) {
      const ids = reported.slice(i, i + PAGE).map((c) => c.itemId);
      const items = await findItemsById(ctx, caller.userId, target.collection, ids, sync.withData);
      const parts: string[] = [];
      for (const id of ids) {
        const item = items.get(id);
        if (!item) continue;
        if (!item.deleted) parts.push(await member(sync, item));
        else
          parts.push(statusResponse(hrefOf(itemTarget(target.family, target.collection, item), caller.username), 404));
      }
      yield parts.join('');
    }
    if (cut) yield truncated(sync);
    yield await tokenElement(sync, nextSeq);
  })();
}
