/*
 * The `<d:response>` of an item for a request naming its properties (what a
 * listing or a multiget asks for), written straight from a plan made once per
 * request: a full sync answers thousands of items, and evaluating the generic
 * property list for each (closures, maps, sets, one string per element) cost
 * more CPU and garbage than the XML itself. The plan follows propstats
 * exactly: the properties that are found in the order named, once each, then
 * the ones that are not as a 404 propstat.
 */
import type { DavCollection, DavItem } from './dav-store.js';
import {
  commonProperties,
  type DataOptions,
  type ItemProperty,
  itemPropertyList,
  type PropRequest,
  principalHref,
  type Scope,
} from './properties.js';
import { clark, element, hrefElement, statusLine } from './xml-write.js';

type Part = string | ItemProperty;

interface Plan {
  parts: Part[];
  tags: Map<ItemProperty, { empty: string; open: string; close: string }>;
}

// By request and scope (the caller's principal is in the plan), then by kind of collection and item.
const plans = new WeakMap<PropRequest, WeakMap<Scope, Map<string, Plan>>>();

function makePlan(
  scope: Scope,
  request: PropRequest & { mode: 'prop' },
  collection: DavCollection,
  withContent: boolean,
) {
  const common = commonProperties(scope).map((p) => ({ ns: p.ns, name: p.name, value: p.value() as string }));
  const own = itemPropertyList(collection, withContent);
  const parts: Part[] = [];
  const tags: Plan['tags'] = new Map();
  let found = '';
  let missing = '';
  const seen = new Set<string>();
  for (const { ns, name } of request.names) {
    const key = clark(ns, name);
    if (seen.has(key)) continue;
    seen.add(key);
    const fixed = common.find((p) => p.name === name && p.ns === ns);
    const property = fixed ? undefined : own.find((p) => p.name === name && p.ns === ns);
    if (fixed) {
      found += element(ns, name, fixed.value);
    } else if (property && !property.perItem) {
      found += element(ns, name, property.value({} as DavItem, collection, principalHref(scope), {}));
    } else if (property) {
      if (found) parts.push(found);
      found = '';
      parts.push(property);
      const full = element(ns, name, '\u0000');
      const [open, close] = full.split('\u0000') as [string, string];
      tags.set(property, { empty: element(ns, name), open, close });
    } else {
      missing += element(ns, name);
    }
  }
  if (found) parts.push(found);
  const anyFound = parts.length > 0;
  const tail =
    (anyFound ? `</d:prop>${statusLine(200)}</d:propstat>` : '') +
    (missing ? `<d:propstat><d:prop>${missing}</d:prop>${statusLine(404)}</d:propstat>` : '') +
    '</d:response>';
  return { parts: [...(anyFound ? ['<d:propstat><d:prop>'] : []), ...parts, tail], tags };
}

/**
 * The response for an item, or null when the request is not a list of named
 * properties (allprop and propname go the generic way).
 */
export function itemResponse(
  scope: Scope,
  request: PropRequest,
  collection: DavCollection,
  item: DavItem,
  data: DataOptions,
  href: string,
): string | null {
  if (request.mode !== 'prop') return null;
  const withContent = item.content !== undefined;
  let byScope = plans.get(request);
  if (!byScope) {
    byScope = new WeakMap();
    plans.set(request, byScope);
  }
  let byKind = byScope.get(scope);
  if (!byKind) {
    byKind = new Map();
    byScope.set(scope, byKind);
  }
  const key = `${collection.type}:${withContent}`;
  let plan = byKind.get(key);
  if (!plan) {
    plan = makePlan(scope, request, collection, withContent);
    byKind.set(key, plan);
  }
  let out = `<d:response>${hrefElement(href)}`;
  for (const part of plan.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const tag = plan.tags.get(part) as { empty: string; open: string; close: string };
    const value = part.value(item, collection, '', data);
    out += value === '' ? tag.empty : tag.open + value + tag.close;
  }
  return out;
}
