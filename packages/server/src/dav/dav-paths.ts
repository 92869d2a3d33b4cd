import { AppError, isId } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { findItemsByName, type NameVacancy } from './dav-names.js';
import { type DavCollection, type DavItem, type DavType, findCollection } from './dav-store.js';

/**
 * URL layout:
 *   /dav/                                      root (current-user-principal)
 *   /dav/principals/<user>/                    principal
 *   /dav/addressbooks/<user>/                  addressbook-home-set
 *   /dav/addressbooks/<user>/<collection>/     address book (contacts)
 *   /dav/addressbooks/<user>/<collection>/<name>.vcf
 *   /dav/calendars/<user>/                     calendar-home-set
 *   /dav/calendars/<user>/<collection>/        calendar (VEVENT), task list (VTODO) or notes (VJOURNAL)
 *   /dav/calendars/<user>/<collection>/<name>.ics
 */
export const DAV_PREFIX = '/dav';

export type Family = 'addressbooks' | 'calendars';
export const FAMILY_TYPES: Record<Family, DavType[]> = {
  addressbooks: ['contacts'],
  calendars: ['calendar', 'tasks', 'notes'],
};

/** What a DAV path resolves to. */
export type DavResource =
  | { kind: 'root' }
  | { kind: 'container'; segment: 'principals' | Family }
  | { kind: 'principal' }
  | { kind: 'home'; family: Family }
  | { kind: 'collection'; family: Family; collection: DavCollection }
  /** A collection path that names nothing live here; `taken` if the id is used (deleted, or another kind). */
  | { kind: 'absent-collection'; family: Family; id: string; taken: boolean }
  | {
      kind: 'item';
      family: Family;
      collection: DavCollection;
      name: string;
      item: DavItem | null;
      /** For a name that addresses nothing: what a PUT creating it needs to know. */
      vacancy?: NameVacancy;
    };

// Characters left as they are in hrefs (as sabre/dav does), so names like `uid@host.ics` read naturally.
const SAFE = /[A-Za-z0-9_\-.~():@]/;

const ALL_SAFE = /^[A-Za-z0-9_\-.~():@]*$/;

export function encodeSegment(segment: string): string {
  if (ALL_SAFE.test(segment)) return segment;
  let out = '';
  for (const char of segment) {
    if (SAFE.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export const hrefs = {
  root: () => `${DAV_PREFIX}/`,
  principals: () => `${DAV_PREFIX}/principals/`,
  principal: (user: string) => `${DAV_PREFIX}/principals/${encodeSegment(user)}/`,
  container: (segment: 'principals' | Family) => `${DAV_PREFIX}/${segment}/`,
  home: (family: Family, user: string) => `${DAV_PREFIX}/${family}/${encodeSegment(user)}/`,
  collection: (family: Family, user: string, id: string) =>
    `${DAV_PREFIX}/${family}/${encodeSegment(user)}/${encodeSegment(id)}/`,
  item: (family: Family, user: string, id: string, name: string) =>
    `${DAV_PREFIX}/${family}/${encodeSegment(user)}/${encodeSegment(id)}/${encodeSegment(name)}`,
};

/** The href of a target, as responses name it. */
export function hrefOf(target: DavResource, user: string): string {
  switch (target.kind) {
    case 'root':
      return hrefs.root();
    case 'container':
      return hrefs.container(target.segment);
    case 'principal':
      return hrefs.principal(user);
    case 'home':
      return hrefs.home(target.family, user);
    case 'collection':
      return hrefs.collection(target.family, user, target.collection.id);
    case 'absent-collection':
      return hrefs.collection(target.family, user, target.id);
    case 'item':
      return hrefs.item(target.family, user, target.collection.id, target.name);
  }
}

/** Decoded path segments under /dav, or null if the path is not under /dav. Accepts absolute URLs (hrefs). */
export function davSegments(pathOrUrl: string): string[] | null {
  let path = pathOrUrl;
  // A request's own URL starts with '/': only hrefs from bodies may be absolute.
  if (!path.startsWith('/') && /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return null;
    }
  }
  path = path.split('?')[0] ?? '';
  if (path !== DAV_PREFIX && !path.startsWith(`${DAV_PREFIX}/`)) return null;
  const raw = path.slice(DAV_PREFIX.length).split('/').filter(Boolean);
  const out: string[] = [];
  for (const segment of raw) {
    // Without a '%' there is nothing to decode (most names, and every collection id).
    let decoded = segment;
    if (segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return null;
      }
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\0')) return null;
    out.push(decoded);
  }
  return out;
}

const notFound = (what: string) => new AppError('not_found', `Nothing at ${what}.`);

/**
 * What a path names, for this caller. Another user's paths are
 * indistinguishable from ones that do not exist: 404 for all of them.
 */
export async function resolveTarget(
  ctx: Context,
  caller: Caller,
  path: string,
  options: { withContent?: boolean } = {},
): Promise<DavResource> {
  const segments = davSegments(path);
  if (!segments) throw notFound(path);
  const [first, user, id, name, ...rest] = segments;
  if (first === undefined) return { kind: 'root' };
  if (first !== 'principals' && first !== 'addressbooks' && first !== 'calendars') throw notFound(path);
  if (user === undefined) return { kind: 'container', segment: first };
  if (user !== caller.username || rest.length > 0) throw notFound(path);
  if (first === 'principals') {
    if (id !== undefined) throw notFound(path);
    return { kind: 'principal' };
  }
  const family: Family = first;
  if (id === undefined) return { kind: 'home', family };
  const found = isId(id) ? await findCollection(ctx, caller.userId, id) : undefined;
  const typeFits = found !== undefined && FAMILY_TYPES[family].includes(found.type);
  if (found && !found.deleted && typeFits) {
    const { deleted: _deleted, ...collection } = found;
    if (name === undefined) return { kind: 'collection', family, collection };
    const vacancies = new Map<string, NameVacancy>();
    const items = await findItemsByName(
      ctx,
      caller.userId,
      collection,
      [name],
      options.withContent ?? false,
      vacancies,
    );
    const vacancy = vacancies.get(name);
    return { kind: 'item', family, collection, name, item: items.get(name) ?? null, ...(vacancy ? { vacancy } : {}) };
  }
  if (name !== undefined) throw notFound(path);
  return { kind: 'absent-collection', family, id, taken: found !== undefined };
}
