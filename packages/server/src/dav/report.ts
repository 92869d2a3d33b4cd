import { AppError } from '@holdfast/protocol';
import {
  type CompFilter,
  matchCalendar,
  parseCalendarFilter,
  parseTimeRange,
  type TimeRange,
} from './calendar-filter.js';
import { matchCard, parseCardFilter } from './card-filter.js';
import { davError } from './dav-error.js';
import { findItemsByName } from './dav-names.js';
import { type DavResource, davSegments, FAMILY_TYPES, type Family, hrefOf } from './dav-paths.js';
import { allItems, type DavCollection, type DavItem, findCollection } from './dav-store.js';
import { expandCalendar } from './expand.js';
import { type DataOptions, type PropRequest, parsePropRequest, type Scope } from './properties.js';
import { itemTarget, respond, wantsData } from './propfind.js';
import { isBudgetSpent, type RecurrenceBudget, recurrenceBudget, WITHIN_LIMITS } from './recurrence.js';
import { syncCollection } from './sync-collection.js';
import { childOf, childrenOf, type XmlElement } from './xml-parse.js';
import { CALDAV, CARDDAV, DAV, statusResponse } from './xml-write.js';

type CollectionTarget = DavResource & { kind: 'collection' };

const SUPPORTED_REPORT = { ns: DAV, name: 'supported-report' };

/** REPORT: multiget, query and sync-collection on an address book or calendar. */
export async function report(
  scope: Scope,
  target: DavResource,
  body: XmlElement | null,
): Promise<AsyncIterable<string>> {
  if (!body) throw new AppError('invalid_request', 'REPORT needs a body.');
  if (target.kind === 'absent-collection' || (target.kind === 'item' && !target.item)) {
    throw new AppError('not_found', 'Nothing here.');
  }
  const kind = `${body.ns === CARDDAV ? 'card' : body.ns === CALDAV ? 'cal' : body.ns === DAV ? 'd' : '?'}:${body.name}`;
  const family: Family | null = target.kind === 'collection' || target.kind === 'item' ? target.family : null;
  const collectionOnly = (): CollectionTarget => {
    if (target.kind !== 'collection') {
      throw davError('forbidden', `${body.name} applies to collections only.`, SUPPORTED_REPORT);
    }
    return target;
  };
  switch (kind) {
    case 'card:addressbook-multiget':
    case 'cal:calendar-multiget':
      if (family !== (kind === 'card:addressbook-multiget' ? 'addressbooks' : 'calendars')) break;
      return multiget(scope, target, family, body);
    case 'card:addressbook-query':
      if (family !== 'addressbooks') break;
      return addressbookQuery(scope, collectionOnly(), body);
    case 'cal:calendar-query':
      if (family !== 'calendars') break;
      return calendarQuery(scope, collectionOnly(), body);
    case 'd:sync-collection':
      return syncCollection(scope, collectionOnly(), body);
  }
  throw davError('forbidden', `The ${body.name} report is not supported here.`, SUPPORTED_REPORT);
}

/** The range of `<cal:expand start end>` in the prop's `<cal:calendar-data>`, if recurrences are to be expanded. */
function expandRange(body: XmlElement): TimeRange | null {
  const expand = childOf(
    childOf(childOf(body, DAV, 'prop') ?? body, CALDAV, 'calendar-data') ?? body,
    CALDAV,
    'expand',
  );
  if (!expand) return null;
  const range = parseTimeRange(expand);
  if (!range || !Number.isFinite(range.start) || !Number.isFinite(range.end)) {
    throw davError('forbidden', 'expand needs a start and an end.', { ns: CALDAV, name: 'valid-filter' });
  }
  return range;
}

/** Data options for one item: its expansion is computed here, asynchronously and under the request's budget. */
async function dataFor(
  item: DavItem,
  request: PropRequest,
  expand: TimeRange | null,
  budget: RecurrenceBudget,
): Promise<DataOptions> {
  if (!expand || !wantsData(request)) return {};
  const expanded = await expandCalendar(item.content ?? '', expand, budget);
  return { calendarData: () => expanded };
}

/**
 * The response that ends a multistatus cut short by a limit: 507 on the
 * request's own href with DAV:number-of-matches-within-limits (RFC 4918 and
 * RFC 5323), as for nresults. Once the 207 has started streaming, this is how a
 * failure can still be told.
 */
function cutShort(href: string): string {
  return statusResponse(href, 507, WITHIN_LIMITS);
}

/**
 * addressbook-multiget / calendar-multiget: each href answered in request
 * order, 404 for any that names nothing live of this user's.
 */
async function multiget(
  scope: Scope,
  target: DavResource,
  family: Family,
  body: XmlElement,
): Promise<AsyncIterable<string>> {
  const request = parsePropRequest(body);
  const expand = family === 'calendars' ? expandRange(body) : null;
  const budget = recurrenceBudget(scope.ctx.config.davMaxRecurrenceSteps);
  const hrefElements = childrenOf(body, DAV, 'href');
  const max = scope.ctx.config.davMaxMultigetHrefs;
  if (hrefElements.length > max) {
    throw davError('forbidden', `A multiget may name at most ${max} resources; split the request.`, WITHIN_LIMITS);
  }
  const hrefs = hrefElements.map((h) => h.text.trim());
  // Names are grouped per collection so each collection costs one batched lookup, not one per href.
  const wanted = new Map<string, string[]>();
  const located = hrefs.map((href) => {
    const segments = davSegments(href);
    if (segments?.length !== 4) return null;
    const [first, user, collectionId, name] = segments as [string, string, string, string];
    if (first !== family || user !== scope.caller.username) return null;
    const names = wanted.get(collectionId);
    if (names) names.push(name);
    else wanted.set(collectionId, [name]);
    return { collectionId, name };
  });
  const found = new Map<string, { collection: DavCollection; items: Map<string, DavItem> }>();
  for (const [collectionId, names] of wanted) {
    const collection = await findCollection(scope.ctx, scope.caller.userId, collectionId);
    if (!collection || collection.deleted || !FAMILY_TYPES[family].includes(collection.type)) continue;
    const items = await findItemsByName(scope.ctx, scope.caller.userId, collection, names, wantsData(request));
    found.set(collectionId, { collection, items });
  }
  return (async function* () {
    for (const [index, href] of hrefs.entries()) {
      const where = located[index];
      const entry = where ? found.get(where.collectionId) : undefined;
      const item = where && entry ? entry.items.get(where.name) : undefined;
      if (!entry || !item || item.deleted) {
        yield statusResponse(href, 404);
        continue;
      }
      let data: DataOptions;
      try {
        data = await dataFor(item, request, expand, budget);
      } catch (error) {
        if (!isBudgetSpent(error)) throw error;
        yield cutShort(hrefOf(target, scope.caller.username));
        return;
      }
      // The client's own href, so it can match answers to requests exactly.
      yield await respond(scope, itemTarget(family, entry.collection, item), request, data, href);
    }
  })();
}

function nresults(limit: XmlElement | undefined, ns: string): number | null {
  const text = limit ? childOf(limit, ns, 'nresults')?.text.trim() : undefined;
  if (text === undefined) return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new AppError('invalid_request', `Invalid nresults '${text}'.`);
  return n;
}

async function addressbookQuery(scope: Scope, target: CollectionTarget, body: XmlElement) {
  const request = parsePropRequest(body);
  const filter = parseCardFilter(childOf(body, CARDDAV, 'filter'));
  const limit = nresults(childOf(body, CARDDAV, 'limit'), CARDDAV);
  const needsContent = wantsData(request) || filter.props.length > 0;
  return queryResults(
    scope,
    target,
    request,
    async () => ({}),
    needsContent,
    limit,
    async (item) => (filter.props.length === 0 ? true : matchCard(filter, item.content ?? '')),
  );
}

async function calendarQuery(scope: Scope, target: CollectionTarget, body: XmlElement) {
  const request = parsePropRequest(body);
  const filter = parseCalendarFilter(childOf(body, CALDAV, 'filter'));
  const expand = expandRange(body);
  // One budget for the whole request: filtering and expansion of every event draw on it.
  const budget = recurrenceBudget(scope.ctx.config.davMaxRecurrenceSteps);
  // A calendar holds both kinds, so only a filter naming no component matches all of its items.
  const component =
    target.collection.type === 'tasks' ? 'VTODO' : target.collection.type === 'notes' ? 'VJOURNAL' : null;
  const trivial = matchesEveryItem(filter, component);
  return queryResults(
    scope,
    target,
    request,
    (item) => dataFor(item, request, expand, budget),
    wantsData(request) || !trivial,
    null,
    async (item) => (trivial ? true : matchCalendar(filter, item.content ?? '', budget)),
  );
}

/** True for filters every object of the collection passes: VCALENDAR, optionally with its own component. */
function matchesEveryItem(filter: CompFilter, component: string | null): boolean {
  if (filter.timeRange || filter.props.length > 0 || filter.comps.length > 1) return false;
  const [only] = filter.comps;
  if (!only) return true;
  return (
    only.name === component &&
    !only.isNotDefined &&
    !only.timeRange &&
    only.props.length === 0 &&
    only.comps.length === 0
  );
}

async function queryResults(
  scope: Scope,
  target: CollectionTarget,
  request: PropRequest,
  dataOf: (item: DavItem) => Promise<DataOptions>,
  withContent: boolean,
  limit: number | null,
  matches: (item: DavItem) => Promise<boolean>,
): Promise<AsyncIterable<string>> {
  const { ctx, caller } = scope;
  return (async function* () {
    let count = 0;
    for await (const page of allItems(ctx, caller.userId, target.collection, withContent)) {
      const parts: string[] = [];
      for (const item of page) {
        let data: DataOptions;
        try {
          if (!(await matches(item))) continue;
          if (limit !== null && count >= limit) {
            yield parts.join('');
            yield cutShort(hrefOf(target, caller.username));
            return;
          }
          data = await dataOf(item);
        } catch (error) {
          if (!isBudgetSpent(error)) throw error;
          yield parts.join('');
          yield cutShort(hrefOf(target, caller.username));
          return;
        }
        count += 1;
        parts.push(await respond(scope, itemTarget(target.family, target.collection, item), request, data));
      }
      yield parts.join('');
    }
  })();
}
