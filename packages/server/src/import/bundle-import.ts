import { hash } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Kysely } from 'kysely';
import type { BlobStore } from '../blobs/blob-store.js';
import {
  type Bundle,
  type BundleLimits,
  defaultBundleLimits,
  openBundle,
  readManifest,
  sliceStream,
} from '../bundle/bundle-reader.js';
import { decodeText } from '../bundle/charset.js';
import { readCalendars } from '../bundle/icalendar-file.js';
import type { ManifestCollection, ManifestItem } from '../bundle/manifest.js';
import { pushTo } from '../bundle/multimap.js';
import { rebuildCalendarItem } from '../export/export-calendars.js';
import { parseNote } from '../export/export-notes.js';
import { recordBlobRows } from '../store/journal-apply.js';
import type { Database } from '../store/schema.js';
import type { CollectionSpec, ImportCandidate, ImportProblem } from './import-source.js';

type Yield = ImportCandidate | ImportProblem;

export interface BlobSink {
  db: { kysely: Kysely<Database> };
  blobs: BlobStore;
  now: () => number;
  userId: string;
  maxBlobBytes: number;
}

const MAX_ITEM_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The items of a Holdfast export bundle, with their ids and collections.
 * Every item's bytes are checked against the manifest's SHA-256 first; an
 * item that does not match is not imported. Blobs (photos, attachments) go
 * into the blob store as they are read (checked by their own hash there).
 */
export async function* bundleCandidates(
  sink: BlobSink,
  path: string,
  limits: BundleLimits = defaultBundleLimits,
): AsyncGenerator<Yield> {
  const bundle = await openBundle(path, limits);
  try {
    const manifest = await readManifest(bundle, limits.maxManifestBytes);
    for (const collection of manifest.collections) yield* collectionCandidates(sink, bundle, collection);
  } finally {
    bundle.close();
  }
}

/**
 * The items of one collection of a bundle, as content a push would send.
 * With a `sink`, blobs are stored as they are read; without one (verify),
 * they are only referred to.
 */
export async function* collectionCandidates(
  sink: BlobSink | null,
  bundle: Bundle,
  collection: ManifestCollection,
): AsyncGenerator<Yield> {
  const spec: CollectionSpec = {
    id: collection.id,
    type: collection.type,
    name: collection.name,
    description: collection.description,
    color: collection.color,
  };
  if (collection.type === 'contacts') yield* sliced(bundle, collection, spec, (text) => text);
  else if (collection.type === 'calendar' || collection.type === 'tasks') yield* calendars(bundle, collection, spec);
  else if (collection.type === 'notes') yield* notes(bundle, collection, spec);
  else if (collection.type === 'photos') yield* photos(sink, bundle, collection, spec);
  else yield* messages(sink, bundle, collection, spec);
}

function candidate(collection: CollectionSpec, item: ManifestItem, path: string, content: unknown): ImportCandidate {
  return {
    kind: 'candidate',
    source: `${path}: item ${item.id}`,
    type: collection.type,
    content,
    itemId: item.id,
    collection,
  };
}

function damaged(item: ManifestItem, path: string): ImportProblem {
  return {
    kind: 'problem',
    source: `${path}: item ${item.id}`,
    reason: "its bytes do not match the manifest's SHA-256 (the bundle is damaged); not imported",
  };
}

function tooLarge(item: ManifestItem, path: string): ImportProblem {
  return {
    kind: 'problem',
    source: `${path}: item ${item.id}`,
    reason: `the manifest gives it ${item.length} bytes; items of at most ${MAX_ITEM_FILE_BYTES} bytes are imported`,
  };
}

function sha256(bytes: Uint8Array): string {
  return hash('sha256', bytes);
}

async function* sliced(
  bundle: Bundle,
  collection: ManifestCollection,
  spec: CollectionSpec,
  toContent: (text: string, item: ManifestItem) => unknown,
  path = collection.path,
  items = collection.items,
): AsyncGenerator<Yield> {
  // An item's slice is held whole while it is read: one the manifest claims is huge is not read.
  for (const item of items) if ((item.length ?? 0) > MAX_ITEM_FILE_BYTES) yield tooLarge(item, path);
  const ranges = items
    .filter((item) => item.offset !== undefined && item.length !== undefined && item.length <= MAX_ITEM_FILE_BYTES)
    .map((item) => ({ item, offset: item.offset as number, length: item.length as number }))
    .sort((a, b) => a.offset - b.offset);
  for await (const { range, bytes } of sliceStream(await bundle.open(path), ranges)) {
    if (sha256(bytes) !== range.item.sha256) {
      yield damaged(range.item, path);
      continue;
    }
    let content: unknown;
    try {
      content = toContent(decodeText(bytes).text, range.item);
    } catch (error) {
      yield {
        kind: 'problem',
        source: `${path}: item ${range.item.id}`,
        reason: `unreadable: ${(error as Error).message}`,
      };
      continue;
    }
    yield candidate(spec, range.item, path, content);
  }
}

async function* calendars(bundle: Bundle, collection: ManifestCollection, spec: CollectionSpec): AsyncGenerator<Yield> {
  const zones = await fileZones(bundle, collection);
  yield* sliced(bundle, collection, spec, (slice, item) =>
    rebuildCalendarItem(collection.sharedHead ?? [], item, zones, slice),
  );
}

async function* notes(bundle: Bundle, collection: ManifestCollection, spec: CollectionSpec): AsyncGenerator<Yield> {
  for (const item of collection.items) {
    const path = item.path ?? '';
    const bytes = await bundle.readBytes(path, MAX_ITEM_FILE_BYTES);
    if (sha256(bytes) !== item.sha256) {
      yield damaged(item, path);
      continue;
    }
    let note: ReturnType<typeof parseNote>;
    try {
      note = parseNote(bytes.toString('utf8'));
    } catch (error) {
      yield { kind: 'problem', source: `${path}: item ${item.id}`, reason: (error as Error).message };
      continue;
    }
    const ical = note.front.ical ? { ical: note.front.ical } : {};
    yield candidate(spec, item, path, { title: note.front.title, body: note.body, ...ical });
  }
}

async function* photos(
  sink: BlobSink | null,
  bundle: Bundle,
  collection: ManifestCollection,
  spec: CollectionSpec,
): AsyncGenerator<Yield> {
  for (const item of collection.items) {
    const path = item.path ?? '';
    const bytes = await bundle.readBytes(path, MAX_ITEM_FILE_BYTES);
    if (sha256(bytes) !== item.sha256 || !item.blob) {
      yield damaged(item, path);
      continue;
    }
    const sidecar = JSON.parse(bytes.toString('utf8')) as { filename?: string; caption?: string; takenAt?: string };
    const stored = await storeBlob(sink, bundle, item.blob.path, item.blob.sha256);
    if (stored) {
      yield { kind: 'problem', source: `${item.blob.path}: item ${item.id}`, reason: stored };
      continue;
    }
    const content = {
      ...(sidecar.filename === undefined ? {} : { filename: sidecar.filename }),
      ...(sidecar.caption === undefined ? {} : { caption: sidecar.caption }),
      ...(sidecar.takenAt === undefined ? {} : { takenAt: sidecar.takenAt }),
    };
    yield {
      ...candidate(spec, item, path, content),
      blob: { sha256: item.blob.sha256, contentType: item.blob.contentType },
    };
  }
}

async function* messages(
  sink: BlobSink | null,
  bundle: Bundle,
  collection: ManifestCollection,
  spec: CollectionSpec,
): AsyncGenerator<Yield> {
  const byThread = new Map<string, ManifestItem[]>();
  for (const item of collection.items) pushTo(byThread, item.path ?? '', item);
  const stored = new Set<string>();
  for (const [path, items] of byThread) {
    for await (const part of sliced(bundle, collection, spec, (text) => JSON.parse(text), path, items)) {
      if (part.kind === 'candidate') {
        const content = (part.content as { content?: { attachments?: { sha256: string }[] } }).content ?? {};
        for (const { sha256: sha } of content.attachments ?? []) {
          if (stored.has(sha)) continue;
          stored.add(sha);
          const problem = await storeBlob(sink, bundle, `messages/attachments/${sha}`, sha);
          if (problem) yield { kind: 'problem', source: `messages/attachments/${sha}`, reason: problem };
        }
        yield { ...part, content };
      } else {
        yield part;
      }
    }
  }
}

/** Puts a blob from the bundle into the blob store; returns why it could not, or null. */
async function storeBlob(sink: BlobSink | null, bundle: Bundle, path: string, sha: string): Promise<string | null> {
  if (!bundle.entries.has(path)) return `the bundle has no ${path}`;
  if (sink === null) return null;
  try {
    const result = await sink.blobs.put(sha, await bundle.open(path), { maxBytes: sink.maxBlobBytes });
    const blobs = [{ sha256: sha, size: result.size, owners: [sink.userId] }];
    await sink.db.kysely.transaction().execute((trx) => recordBlobRows(trx, blobs, sink.now()));
    return null;
  } catch (error) {
    if (error instanceof AppError) return `${path}: ${error.message}`;
    throw error;
  }
}

/** The VTIMEZONEs at the top of a calendar file (before the first item's slice), by TZID. */
export async function fileZones(bundle: Bundle, collection: ManifestCollection): Promise<Map<string, string>> {
  if (!bundle.entries.has(collection.path)) return new Map();
  const first = Math.min(...collection.items.map((item) => item.offset ?? Number.POSITIVE_INFINITY));
  const whole = Number.isFinite(first) ? first : (bundle.entries.get(collection.path)?.uncompressedSize ?? 0);
  // The head holds only time zones; it is read whole, so it is bounded like an item.
  const length = Math.min(whole, MAX_ITEM_FILE_BYTES);
  let head = '';
  for await (const { bytes } of sliceStream(await bundle.open(collection.path), [{ offset: 0, length }])) {
    head = bytes.toString('utf8');
  }
  const text = /END:VCALENDAR\s*$/i.test(head) ? head : `${head}END:VCALENDAR\r\n`;
  return new Map((readCalendars(text).calendars[0]?.timezones ?? []).map((tz) => [tz.tzid, tz.text]));
}
