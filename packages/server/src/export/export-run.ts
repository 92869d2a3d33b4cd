import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { BlobStore } from '../blobs/blob-store.js';
import { type BundleWriter, batched, createBundleWriter } from '../bundle/bundle-writer.js';
import { addCounts } from '../bundle/field-counts.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from '../bundle/manifest.js';
import {
  type CollectionSummary,
  createManifestSpool,
  type ManifestSpool,
  type ManifestSummary,
} from '../bundle/manifest-spool.js';
import { createSlicer } from '../slices.js';
import { collectionsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import { readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { exportCalendar } from './export-calendars.js';
import { exportContacts } from './export-contacts.js';
import { exportMessages, type MessageEntry } from './export-messages.js';
import { exportNotes } from './export-notes.js';
import { exportPhotos } from './export-photos.js';
import { exportSmsXml } from './export-sms.js';

export interface ExportOptions {
  /** `original` (default): every card as stored. `3.0`: cards converted to vCard 3.0 where nothing is lost. */
  vcard?: 'original' | '3.0';
}

/** The state one export shares between the writers of each collection type. */
export interface ExportRun {
  db: Kysely<Database>;
  blobs: BlobStore;
  userId: string;
  /** The snapshot: everything is exported as of this revision. */
  seq: number;
  writer: BundleWriter;
  options: Required<ExportOptions>;
  problems: Manifest['problems'];
  /** Attachments already in the bundle (each is written once). */
  writtenBlobs: Set<string>;
  /** Message threads, for sms.xml after every messages collection. */
  smsThreads: MessageEntry[][];
  /** Per-item manifest entries, kept on disk until manifest.json is written. */
  manifest: ManifestSpool;
  /** Called once per item: gives other requests a turn now and then (slices.ts). */
  pause: () => Promise<void>;
}

const WRITERS = {
  contacts: exportContacts,
  calendar: exportCalendar,
  tasks: exportCalendar,
  notes: exportNotes,
  photos: exportPhotos,
  messages: exportMessages,
} satisfies Record<SnapshotCollection['type'], (run: ExportRun, c: SnapshotCollection) => Promise<CollectionSummary>>;

/**
 * Writes a user's whole account as one ZIP to `output` (docs/export-format.md)
 * and resolves with its manifest (without the per-item entries) once the
 * last byte is written. Items are read a page at a time, blobs streamed and
 * per-item manifest entries spooled to disk, so memory stays bounded however
 * large the account. Everything is read as of one revision, taken at the start.
 */
export async function exportAccount(
  ctx: { db: { kysely: Kysely<Database> }; blobs: BlobStore; now: () => number },
  user: { id: string; username: string },
  output: Writable,
  options: ExportOptions = {},
): Promise<ManifestSummary> {
  const db = ctx.db.kysely;
  const createdAt = new Date(ctx.now());
  const writer = createBundleWriter(createdAt);
  const written = pipeline(writer.output, output);
  const run: ExportRun = {
    db,
    blobs: ctx.blobs,
    userId: user.id,
    seq: await readHead(db),
    writer,
    options: { vcard: options.vcard ?? 'original' },
    problems: [],
    writtenBlobs: new Set(),
    smsThreads: [],
    manifest: await createManifestSpool(),
    pause: createSlicer(),
  };
  try {
    writer.uniquePath('manifest.json');
    writer.uniquePath('messages/attachments');
    writer.uniquePath('messages/sms.xml');
    const collections: CollectionSummary[] = [];
    const totals: Record<string, number> = {};
    for (const collection of await collectionsAt(db, user.id, run.seq)) {
      const exported = await WRITERS[collection.type](run, collection);
      collections.push(exported);
      addCounts(totals, prefixed(collection.type, exported.fields));
    }
    if (run.smsThreads.length > 0) await exportSmsXml(run, run.smsThreads);
    const manifest: ManifestSummary = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      createdAt: createdAt.toISOString(),
      revision: run.seq,
      generation: await readGeneration(db),
      user: { id: user.id, username: user.username },
      options: run.options,
      collections,
      files: [...writer.files],
      totals,
      problems: run.problems,
    };
    await writer.addFile(
      'manifest.json',
      batched(
        run.manifest.write(
          manifest,
          collections.map((c) => c.itemCount),
        ),
      ),
    );
    writer.finish();
    await written;
    return manifest;
  } catch (error) {
    writer.abort(error instanceof Error ? error : new Error(String(error)));
    await written.catch(() => {});
    throw error;
  } finally {
    await run.manifest.close();
  }
}

function prefixed(type: string, fields: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${type}.${key}`, value]));
}
