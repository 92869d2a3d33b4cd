import { AppError, idSchema, type UpdateCollection } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { readCollection, updateCollectionRow } from '../store/collections.js';
import { collectionRevision, createCollection, deleteCollection, updateCollection } from '../sync/collections.js';
import { writeTransaction } from '../sync/write-transaction.js';
import { davError } from './dav-error.js';
import { type DavResource, type Family, hrefOf } from './dav-paths.js';
import type { DavType } from './dav-store.js';
import { childrenOf, type XmlElement } from './xml-parse.js';
import { APPLE_ICAL, CALDAV, CARDDAV, clark, DAV, element, propResponse } from './xml-write.js';

const MAX_NAME = 200;
const MAX_DESCRIPTION = 2000;

/** `#RRGGBB`, or Apple's `#RRGGBBAA` with the alpha dropped (Holdfast stores opaque colours). */
function normalizeColor(value: string): string | null {
  const match = /^\s*(#[0-9a-fA-F]{6})(?:[0-9a-fA-F]{2})?\s*$/.exec(value);
  return match?.[1] ?? null;
}

function descriptionKey(family: Family): string {
  return family === 'addressbooks' ? clark(CARDDAV, 'addressbook-description') : clark(CALDAV, 'calendar-description');
}

/** The `<d:prop>` children of every `<d:set>` (or `<d:remove>`) in a body. */
function propsIn(body: XmlElement | null, op: 'set' | 'remove'): XmlElement[] {
  if (!body) return [];
  return childrenOf(body, DAV, op).flatMap((s) => childrenOf(s, DAV, 'prop').flatMap((p) => p.children));
}

/**
 * MKCOL (RFC 5689 extended) and MKCALENDAR (RFC 4791). A plain MKCOL makes
 * an address book under the address-book home and a calendar under the
 * calendar home. A calendar whose component set is only VTODO becomes a task
 * list. Properties Holdfast does not keep (calendar-timezone, calendar-order)
 * are ignored rather than failing the creation.
 */
export async function makeCollection(
  ctx: Context,
  caller: Caller,
  target: DavResource,
  body: XmlElement | null,
  method: 'MKCOL' | 'MKCALENDAR',
): Promise<void> {
  if (target.kind === 'collection') throw nameInUse();
  if (target.kind !== 'absent-collection') throw new AppError('forbidden', 'Collections can only be made in a home.');
  if (!idSchema.safeParse(target.id).success) {
    throw new AppError('forbidden', 'Collection names are letters, digits, . _ ~ - (up to 128).');
  }
  const expectedRoot = method === 'MKCOL' ? { ns: DAV, name: 'mkcol' } : { ns: CALDAV, name: 'mkcalendar' };
  if (body && !(body.ns === expectedRoot.ns && body.name === expectedRoot.name)) {
    throw new AppError('invalid_request', `${method} expects a <${expectedRoot.name}> body.`);
  }
  const props = new Map(propsIn(body, 'set').map((p) => [clark(p.ns, p.name), p]));
  const type = collectionType(target.family, method, props);
  const name = props.get(clark(DAV, 'displayname'))?.text.trim().slice(0, MAX_NAME) || target.id;
  const description = (props.get(descriptionKey(target.family))?.text ?? '').slice(0, MAX_DESCRIPTION);
  const colorText = props.get(clark(APPLE_ICAL, 'calendar-color'))?.text;
  const color = colorText === undefined ? null : normalizeColor(colorText);
  const fields = { type, name, description, color };
  if (target.taken) await reviveCollection(ctx, caller, target.id, fields);
  else await createCollection(ctx, caller, { id: target.id, ...fields });
}

/** RFC 4918 §9.3.1: MKCOL on an existing resource is 405; RFC 4791 §5.3.1.1 names the precondition. */
function nameInUse(): AppError {
  const error = davError('method_not_allowed', 'A collection already exists here.', {
    ns: DAV,
    name: 'resource-must-be-null',
  });
  return new AppError(error.code, error.message, { ...error.details, allow: ALLOW_COLLECTION });
}

/**
 * A name whose collection was deleted is made again by reviving that
 * collection as a new incarnation: the same id, a new `put` revision, no
 * items (they stay deleted, in history). This is what point-in-time restore
 * does to a deleted collection, so restore and history read it the same way;
 * sync tokens from before the delete are refused (sync-collection.ts). Only
 * a collection of the same type is revived, so restoring old items never
 * puts events into an address book.
 */
async function reviveCollection(
  ctx: Context,
  caller: Caller,
  id: string,
  fields: { type: DavType; name: string; description: string; color: string | null },
): Promise<void> {
  const now = ctx.now();
  await writeTransaction(ctx, caller, async (trx, append) => {
    const row = await readCollection(trx, caller.userId, id);
    if (!row) throw new AppError('conflict', `Collection ${id} changed during the request; try again.`);
    if (row.deleted === 0) throw nameInUse();
    if (row.type !== fields.type) {
      throw davError('forbidden', `The name ${id} belonged to a deleted ${row.type} collection; choose another.`, {
        ns: DAV,
        name: 'resource-must-be-null',
      });
    }
    const [seq] = await append([collectionRevision(caller, id, 'put', fields, now)]);
    await updateCollectionRow(trx, caller.userId, id, {
      ...fields,
      deleted: 0,
      head_seq: seq as number,
      updated_at: now,
    });
  });
}

function collectionType(family: Family, method: string, props: Map<string, XmlElement>): DavType {
  const resourcetype = props.get(clark(DAV, 'resourcetype'));
  const kinds = new Set((resourcetype?.children ?? []).map((c) => clark(c.ns, c.name)));
  const invalid = () =>
    davError('forbidden', 'That kind of collection cannot be made here.', { ns: DAV, name: 'valid-resourcetype' });
  if (family === 'addressbooks') {
    if (method === 'MKCALENDAR' || kinds.has(clark(CALDAV, 'calendar'))) throw invalid();
    return 'contacts';
  }
  if (kinds.has(clark(CARDDAV, 'addressbook'))) throw invalid();
  const set = props.get(clark(CALDAV, 'supported-calendar-component-set'));
  if (!set) return 'calendar';
  const components = new Set(childrenOf(set, CALDAV, 'comp').map((c) => (c.attrs.name ?? '').toUpperCase()));
  if (components.has('VEVENT')) return 'calendar';
  if (components.has('VTODO')) return 'tasks';
  if (components.has('VJOURNAL')) return 'notes';
  throw davError('forbidden', 'Holdfast calendars hold VEVENT, VTODO or VJOURNAL.', {
    ns: CALDAV,
    name: 'supported-calendar-component',
  });
}

export const ALLOW_COLLECTION = 'OPTIONS, PROPFIND, PROPPATCH, REPORT, DELETE';

type Outcome = { status: 200 | 403 | 409 };

/**
 * PROPPATCH is all-or-nothing (RFC 4918 §9.2): if any property cannot be
 * set, nothing changes and the others report 424. On collections, name,
 * description and colour are writable; they become a collection revision.
 */
export async function proppatch(
  ctx: Context,
  caller: Caller,
  target: DavResource,
  body: XmlElement | null,
): Promise<string> {
  if (!body || body.ns !== DAV || body.name !== 'propertyupdate') {
    throw new AppError('invalid_request', 'PROPPATCH expects a <d:propertyupdate> body.');
  }
  if (target.kind === 'absent-collection' || (target.kind === 'item' && !target.item)) {
    throw new AppError('not_found', 'Nothing here.');
  }
  const update: UpdateCollection = {};
  const results: { prop: XmlElement; outcome: Outcome }[] = [];
  for (const op of ['set', 'remove'] as const) {
    for (const prop of propsIn(body, op)) {
      const outcome: Outcome =
        target.kind === 'collection'
          ? applyProp(target.family, prop, op, update, target.collection.id)
          : { status: 403 };
      results.push({ prop, outcome });
    }
  }
  const failed = results.some((r) => r.outcome.status !== 200);
  if (!failed && target.kind === 'collection' && Object.keys(update).length > 0) {
    await updateCollection(ctx, caller, target.collection.id, update);
  }
  const byStatus = new Map<number, string[]>();
  for (const { prop, outcome } of results) {
    const status = failed && outcome.status === 200 ? 424 : outcome.status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), element(prop.ns, prop.name)]);
  }
  return propResponse(hrefOf(target, caller.username), byStatus);
}

function applyProp(
  family: Family,
  prop: XmlElement,
  op: 'set' | 'remove',
  update: UpdateCollection,
  id: string,
): Outcome {
  const key = clark(prop.ns, prop.name);
  const text = prop.text;
  if (key === clark(DAV, 'displayname')) {
    const name = op === 'remove' ? id : text.trim();
    if (name.length === 0 || name.length > MAX_NAME) return { status: 409 };
    update.name = name;
    return { status: 200 };
  }
  if (key === descriptionKey(family)) {
    const description = op === 'remove' ? '' : text;
    if (description.length > MAX_DESCRIPTION) return { status: 409 };
    update.description = description;
    return { status: 200 };
  }
  if (key === clark(APPLE_ICAL, 'calendar-color') && family === 'calendars') {
    const color = op === 'remove' ? null : normalizeColor(text);
    if (op === 'set' && color === null) return { status: 409 };
    update.color = color;
    return { status: 200 };
  }
  return { status: 403 };
}

/** DELETE of a collection: a tombstone for each item, then for the collection, all kept in history. */
export async function removeCollection(ctx: Context, caller: Caller, target: DavResource): Promise<void> {
  if (target.kind !== 'collection') {
    if (target.kind === 'absent-collection') throw new AppError('not_found', 'No collection here.');
    throw new AppError('forbidden', 'Only collections and their items can be deleted.');
  }
  await deleteCollection(ctx, caller, target.collection.id);
}
