import type { Caller, Context } from '../context.js';
import { readGeneration } from '../store/meta.js';
import { type DavResource, type Family, hrefs } from './dav-paths.js';
import { type DavCollection, type DavItem, latestCollectionSeq } from './dav-store.js';
import { syncTokenAt } from './sync-token.js';
import { childOf, type XmlElement } from './xml-parse.js';
import {
  APPLE_ICAL,
  CALDAV,
  CALSERVER,
  CARDDAV,
  clark,
  DAV,
  d,
  element,
  escapeText,
  hrefElement,
  type PropStats,
  type QName,
} from './xml-write.js';

export type PropRequest =
  | { mode: 'allprop'; include: QName[] }
  | { mode: 'propname' }
  | { mode: 'prop'; names: QName[] };

/** Reads `<d:prop>`, `<d:allprop>` or `<d:propname>` from a PROPFIND or REPORT body; none means allprop. */
export function parsePropRequest(body: XmlElement | null): PropRequest {
  if (!body) return { mode: 'allprop', include: [] };
  const prop = childOf(body, DAV, 'prop');
  if (prop) return { mode: 'prop', names: prop.children.map(({ ns, name }) => ({ ns, name })) };
  if (childOf(body, DAV, 'propname')) return { mode: 'propname' };
  const include = childOf(body, DAV, 'include');
  return { mode: 'allprop', include: include ? include.children.map(({ ns, name }) => ({ ns, name })) : [] };
}

export function requests(request: PropRequest, ns: string, name: string): boolean {
  return request.mode === 'prop' && request.names.some((q) => q.ns === ns && q.name === name);
}

/** Per-request memo of what several properties share: the generation and collections' latest seqs. */
export interface Scope {
  ctx: Context;
  caller: Caller;
  generation(): Promise<string>;
  latestSeq(collectionId: string): Promise<number>;
}

export function createScope(ctx: Context, caller: Caller): Scope {
  let generation: Promise<string> | undefined;
  const latest = new Map<string, Promise<number>>();
  return {
    ctx,
    caller,
    generation: () => {
      generation ??= readGeneration(ctx.db);
      return generation;
    },
    latestSeq: (collectionId) => {
      let seq = latest.get(collectionId);
      if (!seq) {
        seq = latestCollectionSeq(ctx, caller.userId, collectionId);
        latest.set(collectionId, seq);
      }
      return seq;
    },
  };
}

interface Property {
  ns: string;
  name: string;
  value: () => string | Promise<string>;
  /** Returned by allprop; expensive or large properties are returned only when named. */
  inAllprop: boolean;
}

const prop = (ns: string, name: string, value: () => string | Promise<string>, inAllprop = true): Property => ({
  ns,
  name,
  value,
  inAllprop,
});

const privileges = (names: [string, string][]) => names.map(([ns, name]) => d('privilege', element(ns, name))).join('');
const READ: [string, string][] = [
  [DAV, 'read'],
  [DAV, 'read-current-user-privilege-set'],
];
const WRITE: [string, string][] = [
  [DAV, 'write'],
  [DAV, 'write-properties'],
  [DAV, 'write-content'],
  [DAV, 'bind'],
  [DAV, 'unbind'],
];

function reportSet(reports: [string, string][]): string {
  return reports.map(([ns, name]) => d('supported-report', d('report', element(ns, name)))).join('');
}

const CONTENT_TYPES: Record<DavCollection['type'], string> = {
  contacts: 'text/vcard; charset=utf-8',
  calendar: 'text/calendar; charset=utf-8; component=VEVENT',
  tasks: 'text/calendar; charset=utf-8; component=VTODO',
  notes: 'text/calendar; charset=utf-8; component=VJOURNAL',
};

export function contentTypeOf(collection: DavCollection): string {
  return CONTENT_TYPES[collection.type];
}

export function etagOf(item: DavItem): string {
  return `"${item.hash ?? ''}"`;
}

/** Options for item data: REPORTs may transform calendar data (expand). */
export interface DataOptions {
  calendarData?: (text: string) => string;
}

/** The properties every resource has; their values depend only on the caller. */
export function commonProperties(scope: Scope): Property[] {
  const principal = principalHref(scope);
  return [
    prop(DAV, 'current-user-principal', () => principal),
    prop(DAV, 'principal-collection-set', () => hrefElement(hrefs.principals()), false),
  ];
}

/** The properties of a resource, live and computed. Unknown properties are 404 in the propstat. */
export function propertiesOf(scope: Scope, target: DavResource, data: DataOptions = {}): Property[] {
  const user = scope.caller.username;
  const principal = principalHref(scope);
  const common = commonProperties(scope);
  switch (target.kind) {
    case 'root':
    case 'container':
      return [
        ...common,
        prop(DAV, 'resourcetype', () => d('collection')),
        prop(DAV, 'displayname', () => (target.kind === 'root' ? 'Holdfast' : target.segment)),
        prop(DAV, 'current-user-privilege-set', () => privileges(READ)),
      ];
    case 'principal':
      return [
        ...common,
        prop(DAV, 'resourcetype', () => d('principal')),
        prop(DAV, 'displayname', () => escapeText(user)),
        prop(DAV, 'principal-URL', () => principal),
        prop(DAV, 'owner', () => principal),
        prop(DAV, 'supported-report-set', () => ''),
        prop(DAV, 'current-user-privilege-set', () => privileges(READ)),
        prop(CARDDAV, 'addressbook-home-set', () => hrefElement(hrefs.home('addressbooks', user))),
        prop(CALDAV, 'calendar-home-set', () => hrefElement(hrefs.home('calendars', user))),
        prop(CALDAV, 'calendar-user-address-set', () => principal, false),
        prop(CALDAV, 'calendar-user-type', () => 'INDIVIDUAL', false),
      ];
    case 'home':
      return [
        ...common,
        prop(DAV, 'resourcetype', () => d('collection')),
        prop(DAV, 'displayname', () => (target.family === 'addressbooks' ? 'Address books' : 'Calendars')),
        prop(DAV, 'owner', () => principal),
        prop(DAV, 'supported-report-set', () => ''),
        prop(DAV, 'current-user-privilege-set', () => privileges([...READ, [DAV, 'bind'], [DAV, 'unbind']])),
      ];
    case 'collection':
      return [...common, ...collectionProperties(scope, target.family, target.collection, principal)];
    case 'item':
      return target.item ? [...common, ...itemProperties(target.collection, target.item, principal, data)] : common;
    case 'absent-collection':
      return common;
  }
}

function collectionProperties(scope: Scope, family: Family, collection: DavCollection, principal: string) {
  const token = async () =>
    escapeText(await syncTokenAt(scope.ctx.db, await scope.generation(), await scope.latestSeq(collection.id)));
  const shared = [
    prop(DAV, 'displayname', () => escapeText(collection.name)),
    prop(DAV, 'owner', () => principal),
    prop(CALSERVER, 'getctag', token),
    prop(DAV, 'sync-token', token),
  ];
  if (family === 'addressbooks') {
    return [
      ...shared,
      prop(DAV, 'resourcetype', () => d('collection') + element(CARDDAV, 'addressbook')),
      prop(CARDDAV, 'addressbook-description', () => escapeText(collection.description)),
      prop(CARDDAV, 'supported-address-data', () =>
        ['3.0', '4.0']
          .map((version) => element(CARDDAV, 'address-data-type', '', { 'content-type': 'text/vcard', version }))
          .join(''),
      ),
      prop(CARDDAV, 'max-resource-size', () => '1048576'),
      prop(DAV, 'supported-report-set', () =>
        reportSet([
          [CARDDAV, 'addressbook-multiget'],
          [CARDDAV, 'addressbook-query'],
          [DAV, 'sync-collection'],
        ]),
      ),
      prop(DAV, 'current-user-privilege-set', () => privileges([...READ, ...WRITE])),
    ];
  }
  const components = collection.type === 'contacts' ? [] : COMPONENTS[collection.type];
  return [
    ...shared,
    prop(DAV, 'resourcetype', () => d('collection') + element(CALDAV, 'calendar')),
    prop(CALDAV, 'calendar-description', () => escapeText(collection.description)),
    ...(collection.color ? [prop(APPLE_ICAL, 'calendar-color', () => escapeText(collection.color as string))] : []),
    prop(CALDAV, 'supported-calendar-component-set', () =>
      components.map((name) => element(CALDAV, 'comp', '', { name })).join(''),
    ),
    prop(CALDAV, 'supported-calendar-data', () =>
      element(CALDAV, 'calendar-data', '', { 'content-type': 'text/calendar', version: '2.0' }),
    ),
    prop(CALDAV, 'max-resource-size', () => '4194304'),
    prop(DAV, 'supported-report-set', () =>
      reportSet([
        [CALDAV, 'calendar-multiget'],
        [CALDAV, 'calendar-query'],
        [CALDAV, 'free-busy-query'],
        [DAV, 'sync-collection'],
      ]),
    ),
    prop(DAV, 'current-user-privilege-set', () => privileges([...READ, ...WRITE, [CALDAV, 'read-free-busy']])),
  ];
}

/** The components each kind of calendar collection holds (a calendar takes tasks too, as DAV clients expect). */
export const COMPONENTS: Record<Exclude<DavCollection['type'], 'contacts'>, string[]> = {
  calendar: ['VEVENT', 'VTODO'],
  tasks: ['VTODO'],
  notes: ['VJOURNAL'],
};

/** How an item property is read: `perItem` values change from item to item, the others are the same for all. */
export interface ItemProperty {
  ns: string;
  name: string;
  perItem: boolean;
  inAllprop: boolean;
  value: (item: DavItem, collection: DavCollection, principal: string, data: DataOptions) => string;
}

const itemProp = (
  ns: string,
  name: string,
  perItem: boolean,
  value: ItemProperty['value'],
  inAllprop = true,
): ItemProperty => ({ ns, name, perItem, inAllprop, value });

const ITEM_PROPERTIES: ItemProperty[] = [
  itemProp(DAV, 'resourcetype', false, () => ''),
  itemProp(DAV, 'getetag', true, (item) => escapeText(etagOf(item))),
  itemProp(DAV, 'getcontenttype', false, (_item, collection) => contentTypeOf(collection)),
  itemProp(DAV, 'getcontentlength', true, (item) => String(item.size)),
  itemProp(DAV, 'getlastmodified', true, (item) => new Date(item.updatedAt).toUTCString()),
  itemProp(DAV, 'owner', false, (_item, _collection, principal) => principal),
  itemProp(DAV, 'current-user-privilege-set', false, () => privileges([...READ, ...WRITE])),
];
const ADDRESS_DATA = itemProp(CARDDAV, 'address-data', true, (item) => escapeText(item.content ?? ''), false);
const CALENDAR_DATA = itemProp(
  CALDAV,
  'calendar-data',
  true,
  (item, _collection, _principal, data) => escapeText((data.calendarData ?? ((text) => text))(item.content ?? '')),
  false,
);

/** An item's own properties (after the common ones), in order; item data only when its text was read. */
export function itemPropertyList(collection: DavCollection, withContent: boolean): ItemProperty[] {
  if (!withContent) return ITEM_PROPERTIES;
  return [...ITEM_PROPERTIES, collection.type === 'contacts' ? ADDRESS_DATA : CALENDAR_DATA];
}

function itemProperties(collection: DavCollection, item: DavItem, principal: string, data: DataOptions) {
  return itemPropertyList(collection, item.content !== undefined).map((p) =>
    prop(p.ns, p.name, () => p.value(item, collection, principal, data), p.inAllprop),
  );
}

const principals = new WeakMap<Scope, string>();

/** The caller's principal href element, built once per request: every resource in a listing names it. */
export function principalHref(scope: Scope): string {
  let href = principals.get(scope);
  if (href === undefined) {
    href = hrefElement(hrefs.principal(scope.caller.username));
    principals.set(scope, href);
  }
  return href;
}

/** Evaluates a property request against a resource's properties. */
export async function propstats(properties: Property[], request: PropRequest): Promise<PropStats> {
  const found: string[] = [];
  const missing: string[] = [];
  if (request.mode === 'propname') {
    for (const p of properties) found.push(element(p.ns, p.name));
    return new Map([[200, found]]);
  }
  // A resource has a dozen properties and a request names a few: a scan beats building a map per resource.
  const find = (ns: string, name: string) => properties.find((p) => p.name === name && p.ns === ns);
  const wanted =
    request.mode === 'prop'
      ? request.names
      : [...properties.filter((p) => p.inAllprop), ...request.include.filter((q) => !find(q.ns, q.name)?.inAllprop)];
  const seen = new Set<string>();
  for (const { ns, name } of wanted) {
    const key = clark(ns, name);
    if (seen.has(key)) continue;
    seen.add(key);
    const property = find(ns, name);
    if (!property) {
      missing.push(element(ns, name));
      continue;
    }
    const value = property.value();
    found.push(element(ns, name, typeof value === 'string' ? value : await value));
  }
  return new Map([
    [200, found],
    [404, missing],
  ]);
}
