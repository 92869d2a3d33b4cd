import { hash } from 'node:crypto';
import { batched, safeName } from '../bundle/bundle-writer.js';
import { addCounts, calendarFields, type FieldCounts } from '../bundle/field-counts.js';
import { type CalendarParts, readCalendars, timezoneId } from '../bundle/icalendar-file.js';
import { createJsonSpool, type JsonSpool } from '../bundle/json-spool.js';
import type { CollectionSummary } from '../bundle/manifest-spool.js';
import { allItemsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import type { ExportRun } from './export-run.js';

const CRLF = '\r\n';

/**
 * `calendars/<collection>.ics` (and `tasks/…`): one VCALENDAR holding every
 * item. The calendar properties all items share are written once at the top
 * (`sharedHead`), then the calendar properties only some items have, each
 * name once (`calendarHead`, for calendar apps); each distinct VTIMEZONE once after them (the first text
 * seen for a TZID); then each item's VEVENT/VTODO components exactly as
 * stored, in item id order. An item's slice is those components' bytes.
 * What the file cannot hold for an item (its other calendar properties, a
 * VTIMEZONE whose text differs from the file's for the same TZID) is in its
 * manifest entry, so `sharedHead + head + timezones + slice` gives the item
 * back property for property.
 */
export async function exportCalendar(run: ExportRun, collection: SnapshotCollection): Promise<CollectionSummary> {
  const folder = collection.type === 'tasks' ? 'tasks' : 'calendars';
  const path = run.writer.uniquePath(`${folder}/${safeName(collection.name, collection.id)}.ics`);
  // One read of the items: what the file's head needs is only known after the last one, so they wait on disk.
  const spool = await createJsonSpool<Spooled>();
  try {
    let shared: string[] | null = null;
    const named = new Map<string, string[]>();
    const zones = new Map<string, string>();
    const fields: FieldCounts = {};
    for await (const item of allItemsAt(run.db, run.userId, collection.id, run.seq)) {
      await run.pause();
      const stored = item.revision.content ?? '';
      const parts = partsOf(stored);
      shared = shared === null ? [...parts.head] : intersect(shared, parts.head);
      for (const [name, lines] of byName(parts.head)) if (!named.has(name)) named.set(name, lines);
      for (const tz of parts.timezones) if (!zones.has(tz.tzid)) zones.set(tz.tzid, tz.text);
      const meta = item.revision.meta ? (JSON.parse(item.revision.meta) as Record<string, unknown>) : {};
      const counts = calendarFields(stored);
      addCounts(fields, counts);
      await spool.add({
        id: item.id,
        revision: item.revision.seq,
        createdAt: new Date(item.createdAt).toISOString(),
        updatedAt: new Date(item.revision.created_at).toISOString(),
        uid: typeof meta.uid === 'string' ? meta.uid : null,
        head: parts.head,
        zones: parts.timezones.map((tz) => [tz.tzid, tz.text]),
        slice: parts.components.map((c) => terminated(c.lines.join(''))).join(''),
        fields: counts,
      });
    }
    const sharedHead = shared ?? [];
    const calendarHead = calendarProperties(named, sharedHead);
    await run.writer.addFile(path, batched(body(run, spool, [...sharedHead, ...calendarHead], sharedHead, zones)));
    const itemCount = run.manifest.take();
    return {
      ...collection,
      path,
      sharedHead,
      ...(calendarHead.length > 0 ? { calendarHead } : {}),
      itemCount,
      fields: { items: itemCount, ...(zones.size > 0 ? { timezones: zones.size } : {}), ...fields },
    };
  } finally {
    await spool.close();
  }
}

/** An item waiting to be written: its slice and what its manifest entry needs. */
interface Spooled {
  id: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  uid: string | null;
  head: string[];
  zones: [string, string][];
  slice: string;
  fields: FieldCounts;
}

async function* body(
  run: ExportRun,
  spool: JsonSpool<Spooled>,
  fileHead: string[],
  sharedHead: string[],
  zones: Map<string, string>,
): AsyncGenerator<string> {
  const top = [
    `BEGIN:VCALENDAR${CRLF}`,
    ...(sharedHead.some((line) => /^VERSION[;:]/i.test(line)) ? [] : [`VERSION:2.0${CRLF}`]),
    ...(sharedHead.some((line) => /^PRODID[;:]/i.test(line)) ? [] : [`PRODID:-//Holdfast//Export//EN${CRLF}`]),
    ...fileHead.map(terminated),
    ...[...zones.values()].map(terminated),
  ].join('');
  let offset = Buffer.byteLength(top, 'utf8');
  yield top;
  for await (const item of spool.read()) {
    const length = Buffer.byteLength(item.slice, 'utf8');
    const head = without(item.head, sharedHead);
    const own = item.zones.filter(([tzid, text]) => zones.get(tzid) !== text).map(([, text]) => text);
    await run.manifest.add({
      id: item.id,
      revision: item.revision,
      sha256: hash('sha256', item.slice),
      offset,
      length,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
      uid: item.uid,
      ...(head.length > 0 ? { head } : {}),
      ...(item.zones.length > 0 ? { timezones: item.zones.map(([tzid]) => tzid) } : {}),
      ...(own.length > 0 ? { ownTimezones: own } : {}),
      fields: item.fields,
    });
    offset += length;
    yield item.slice;
  }
  yield `END:VCALENDAR${CRLF}`;
}

/** Properties one calendar object carries about itself, not about the calendar it sits in. */
const PER_OBJECT = new Set(['VERSION', 'PRODID', 'CALSCALE', 'METHOD']);

/** A head's lines grouped by property name (upper case), in order. */
function byName(head: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of head) {
    const name = (/^[A-Za-z0-9-]+/.exec(line)?.[0] ?? '').toUpperCase();
    out.set(name, [...(out.get(name) ?? []), line]);
  }
  return out;
}

/**
 * The calendar-level properties the file adds to the shared head: every
 * property name some item has and the shared head lacks, as the first item
 * with it writes it. Names the file may hold only once per object are left
 * to the shared head (or to the Holdfast defaults).
 */
function calendarProperties(named: Map<string, string[]>, sharedHead: string[]): string[] {
  const shared = byName(sharedHead);
  return [...named]
    .filter(([name]) => !shared.has(name) && !PER_OBJECT.has(name) && name !== '')
    .flatMap(([, lines]) => lines);
}

/** Splits a stored calendar object; it was validated when stored, so it is one VCALENDAR. */
export function partsOf(text: string): CalendarParts {
  const calendar = readCalendars(text).calendars[0];
  return calendar ?? { line: 1, begin: '', end: '', head: [], timezones: [], components: [] };
}

/** The lines of `a` also in `b`, each as often as in both, in `a`'s order. */
function intersect(a: string[], b: string[]): string[] {
  const left = counts(b);
  return a.filter((line) => {
    const n = left.get(line) ?? 0;
    if (n === 0) return false;
    left.set(line, n - 1);
    return true;
  });
}

/** The lines of `a` not accounted for by `b` (multiset difference), in `a`'s order. */
export function without(a: string[], b: string[]): string[] {
  const left = counts(b);
  return a.filter((line) => {
    const n = left.get(line) ?? 0;
    if (n === 0) return true;
    left.set(line, n - 1);
    return false;
  });
}

function counts(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) out.set(line, (out.get(line) ?? 0) + 1);
  return out;
}

function terminated(text: string): string {
  return /[\r\n]$/.test(text) ? text : `${text}${CRLF}`;
}

/**
 * An item's calendar object rebuilt from the bundle: the collection's shared
 * head, its own head, its time zones (from the file by TZID, or its own),
 * and its slice.
 */
export function rebuildCalendarItem(
  sharedHead: string[],
  item: { head?: string[] | undefined; timezones?: string[] | undefined; ownTimezones?: string[] | undefined },
  fileZones: Map<string, string>,
  slice: string,
): string {
  const own = new Map((item.ownTimezones ?? []).map((text) => [timezoneId(text), text]));
  const zones = (item.timezones ?? []).map((tzid) => own.get(tzid) ?? fileZones.get(tzid) ?? '');
  return [
    `BEGIN:VCALENDAR${CRLF}`,
    ...[...sharedHead, ...(item.head ?? [])].map(terminated),
    ...zones.filter((z) => z.length > 0).map(terminated),
    slice,
    `END:VCALENDAR${CRLF}`,
  ].join('');
}
