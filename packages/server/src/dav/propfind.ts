import { AppError } from '@holdfast/protocol';
import { type DavResource, FAMILY_TYPES, type Family, hrefOf } from './dav-paths.js';
import { allItems, type DavCollection, type DavItem, findItemsById, listDavCollections } from './dav-store.js';
import { ensureDefaultCollections } from './default-collections.js';
import { itemResponse } from './item-response.js';
import {
  type DataOptions,
  type PropRequest,
  parsePropRequest,
  propertiesOf,
  propstats,
  requests,
  type Scope,
} from './properties.js';
import type { XmlElement } from './xml-parse.js';
import { CALDAV, CARDDAV, DAV, propResponse } from './xml-write.js';

/** One `<d:response>` for a resource, under its own href unless `href` is given. */
export async function respond(
  scope: Scope,
  target: DavResource,
  request: PropRequest,
  data?: DataOptions,
  href: string = hrefOf(target, scope.caller.username),
) {
  if (target.kind === 'item' && target.item) {
    const fast = itemResponse(scope, request, target.collection, target.item, data ?? {}, href);
    if (fast !== null) return fast;
  }
  return propResponse(href, await propstats(propertiesOf(scope, target, data), request));
}

export function wantsData(request: PropRequest): boolean {
  return requests(request, CARDDAV, 'address-data') || requests(request, CALDAV, 'calendar-data');
}

/**
 * PROPFIND at depth 0 or 1 (infinity is answered as 1). Members are read a
 * page at a time and written as they come, so a large collection streams
 * instead of being held in memory.
 */
export async function propfind(
  scope: Scope,
  target: DavResource,
  body: XmlElement | null,
  depth: 0 | 1,
): Promise<AsyncIterable<string>> {
  if (body && !(body.ns === DAV && body.name === 'propfind')) {
    throw new AppError('invalid_request', 'PROPFIND expects a <d:propfind> body.');
  }
  if (target.kind === 'absent-collection' || (target.kind === 'item' && !target.item)) {
    throw new AppError('not_found', 'Nothing here.');
  }
  const request = parsePropRequest(body);
  const withData = wantsData(request);
  if (target.kind === 'home' && depth === 1) await ensureDefaultCollections(scope.ctx, scope.caller, target.family);
  let self = target;
  if (self.kind === 'item' && self.item && withData && self.item.content === undefined) {
    const loaded = await findItemsById(scope.ctx, scope.caller.userId, self.collection, [self.item.id], true);
    self = { ...self, item: loaded.get(self.item.id) ?? self.item };
  }
  return (async function* () {
    yield await respond(scope, self, request);
    if (depth === 0) return;
    for await (const members of membersOf(scope, self, withData)) {
      const parts: string[] = [];
      for (const member of members) parts.push(await respond(scope, member, request));
      yield parts.join('');
    }
  })();
}

async function* membersOf(scope: Scope, target: DavResource, withData: boolean): AsyncGenerator<DavResource[]> {
  switch (target.kind) {
    case 'root':
      yield [
        { kind: 'container', segment: 'principals' },
        { kind: 'container', segment: 'addressbooks' },
        { kind: 'container', segment: 'calendars' },
      ];
      return;
    case 'container':
      yield [target.segment === 'principals' ? { kind: 'principal' } : { kind: 'home', family: target.segment }];
      return;
    case 'home': {
      const collections = await listDavCollections(scope.ctx, scope.caller.userId, FAMILY_TYPES[target.family]);
      yield collections.map((collection) => ({ kind: 'collection', family: target.family, collection }));
      return;
    }
    case 'collection':
      for await (const page of allItems(scope.ctx, scope.caller.userId, target.collection, withData)) {
        yield page.map((item) => itemTarget(target.family, target.collection, item));
      }
      return;
    default:
      return;
  }
}

export function itemTarget(family: Family, collection: DavCollection, item: DavItem): DavResource {
  return { kind: 'item', family, collection, name: item.name, item };
}
