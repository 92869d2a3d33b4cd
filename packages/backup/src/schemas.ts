import { blobRefSchema, idSchema, sha256Schema } from '@holdfast/protocol';
import { z } from 'zod';

/*
 * The JSON content of every object kind. All schemas are strict: a field this
 * version does not know is an error, never silently dropped, because a reader
 * that drops data it does not understand would restore less than was backed
 * up. docs/backup-format.md mirrors these definitions.
 */

const isoTime = z.iso.datetime({ offset: true });
const seq = z.int().min(1);

/** `journal/<64 hex>` */
export const journalNameSchema = z.string().regex(/^journal\/[0-9a-f]{64}$/, 'a journal object name');
/** `blobs/<first 2 hex>/<64 hex>` */
export const blobNameSchema = z.string().regex(/^blobs\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/, 'a blob object name');
/** `data/<first 2 hex>/<64 hex>` */
export const dataNameSchema = z.string().regex(/^data\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/, 'a snapshot data object name');
/** `accounts/<64 hex>` */
export const accountsNameSchema = z.string().regex(/^accounts\/[0-9a-f]{64}$/, 'an account state object name');
/** `snapshots/<64 hex>` */
export const snapshotNameSchema = z.string().regex(/^snapshots\/[0-9a-f]{64}$/, 'a snapshot object name');

/** The lineage of the server database (its `generation`); changes when the database is restored or replaced. */
export const generationSchema = z.string().min(1).max(128);

/**
 * One revision of the server's append-only log, with every column the
 * server keeps, so a restore loses nothing. `itemId` is null exactly for
 * revisions of a collection itself (`entity: 'collection'`). A delete
 * carries neither content nor blob. `chain` is the server's hash-chain value
 * at this revision, so a backup target witnesses the log it received:
 * absent in journals written before the log was chained.
 */
export const revisionSchema = z
  .strictObject({
    seq,
    userId: idSchema,
    entity: z.enum(['item', 'collection']),
    collectionId: idSchema,
    itemId: idSchema.nullable(),
    op: z.enum(['put', 'delete']),
    deviceId: z.string().min(1).max(256).nullable(),
    origin: z.string().max(256),
    contentType: z.string().max(255).nullable(),
    content: z
      .string()
      .max(16 * 1024 * 1024)
      .nullable(),
    blob: blobRefSchema.nullable(),
    meta: z
      .string()
      .max(16 * 1024 * 1024)
      .nullable(),
    hash: z.string().max(256).nullable(),
    size: z.int().min(0),
    baseSeq: z.int().min(0).nullable(),
    clientChangeId: z.string().max(256).nullable(),
    at: isoTime,
    chain: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .refine((revision) => (revision.entity === 'collection') === (revision.itemId === null), {
    message: 'itemId is null exactly for collection revisions',
  })
  .refine((revision) => revision.op === 'put' || (revision.content === null && revision.blob === null), {
    message: 'a delete carries no content and no blob',
  });
/** One revision of the server's log. */
export type Revision = z.infer<typeof revisionSchema>;

/** Plaintext SHA-256 of a blob → the name of the object that stores it. */
export const blobMapSchema = z.record(sha256Schema, blobNameSchema);
/** Plaintext SHA-256 of a blob → the name of the object that stores it. */
export type BlobMap = z.infer<typeof blobMapSchema>;

/** Every blob sha256 referenced by the revisions. */
export function referencedBlobs(revisions: readonly Revision[]): Set<string> {
  const shas = new Set<string>();
  for (const revision of revisions) if (revision.blob) shas.add(revision.blob.sha256);
  return shas;
}

function sameKeys(map: Record<string, unknown>, keys: Set<string>): boolean {
  const own = Object.keys(map);
  return own.length === keys.size && own.every((key) => keys.has(key));
}

/**
 * A journal segment: every revision with `fromSeq <= seq <= toSeq`, in order
 * (sequence numbers may have gaps; the range says none are missing). Chain
 * rule: `prev` names the segment that ends at `fromSeq - 1`, or is null for
 * the first segment of a chain. `blobs` maps exactly the blobs the revisions
 * reference.
 */
export const journalSegmentSchema = z
  .strictObject({
    generation: generationSchema,
    fromSeq: seq,
    toSeq: seq,
    prev: z.strictObject({ object: journalNameSchema, toSeq: seq }).nullable(),
    createdAt: isoTime,
    revisions: z.array(revisionSchema),
    blobs: blobMapSchema,
  })
  .superRefine((segment, ctx) => {
    if (segment.fromSeq > segment.toSeq) ctx.addIssue({ code: 'custom', message: 'fromSeq is after toSeq' });
    if (segment.prev && segment.fromSeq !== segment.prev.toSeq + 1) {
      ctx.addIssue({ code: 'custom', message: 'fromSeq must follow prev.toSeq' });
    }
    let last = segment.fromSeq - 1;
    for (const revision of segment.revisions) {
      if (revision.seq <= last || revision.seq > segment.toSeq) {
        ctx.addIssue({ code: 'custom', message: `revision seq ${revision.seq} is out of order or outside the range` });
        return;
      }
      last = revision.seq;
    }
    if (!sameKeys(segment.blobs, referencedBlobs(segment.revisions))) {
      ctx.addIssue({ code: 'custom', message: 'blobs must map exactly the blobs the revisions reference' });
    }
  });
/** A journal segment. */
export type JournalSegment = z.infer<typeof journalSegmentSchema>;

/** A chunk of a snapshot: head revisions of live entities (all `put`). */
export const snapshotDataSchema = z.strictObject({
  records: z.array(revisionSchema.refine((record) => record.op === 'put', 'snapshot records are puts')),
});
/** A chunk of a snapshot. */
export type SnapshotData = z.infer<typeof snapshotDataSchema>;

/** What one user's collection holds at the snapshot's seq: live item count and a digest (see digest.ts). */
export const collectionDigestSchema = z.strictObject({
  count: z.int().min(0),
  hash: z.string().regex(/^[0-9a-f]{32}$/),
});
/** userId → collectionId → digest. */
export const digestsSchema = z.record(idSchema, z.record(idSchema, collectionDigestSchema));
/** userId → collectionId → digest. */
export type Digests = z.infer<typeof digestsSchema>;

/**
 * One data object of a snapshot. `records` is the number of records the
 * object holds; `drop` lists (ascending) the positions of records in it that
 * this snapshot does not include, because they were superseded or deleted
 * after the object was written (an incremental snapshot reuses the object
 * and drops only those).
 */
export const snapshotDataEntrySchema = z
  .strictObject({
    object: dataNameSchema,
    records: z.int().min(0),
    drop: z.array(z.int().min(0)).optional(),
  })
  .refine(
    (entry) =>
      (entry.drop ?? []).every(
        (position, i, all) => position < entry.records && (i === 0 || position > (all[i - 1] as number)),
      ),
    { message: 'drop lists distinct positions below records, ascending' },
  );
/** One data object of a snapshot. */
export type SnapshotDataEntry = z.infer<typeof snapshotDataEntrySchema>;

/**
 * A snapshot manifest, written after everything it names. It covers every
 * revision with seq ≤ `seq`: the data objects hold the head revision of each
 * live entity, `journal` names the newest segment (ending at `journal.toSeq`
 * ≤ `seq`) the snapshot was taken against, and `blobs` maps every blob the
 * records reference.
 */
export const snapshotManifestSchema = z
  .strictObject({
    generation: generationSchema,
    seq: z.int().min(0),
    createdAt: isoTime,
    journal: z.strictObject({ head: journalNameSchema.nullable(), toSeq: z.int().min(0) }),
    data: z.array(snapshotDataEntrySchema),
    records: z.int().min(0),
    blobs: blobMapSchema,
    digests: digestsSchema,
    accounts: accountsNameSchema.optional(),
  })
  .superRefine((manifest, ctx) => {
    if ((manifest.journal.head === null) !== (manifest.journal.toSeq === 0)) {
      ctx.addIssue({ code: 'custom', message: 'journal.head is null exactly when journal.toSeq is 0' });
    }
    if (manifest.journal.toSeq > manifest.seq) {
      ctx.addIssue({ code: 'custom', message: 'journal.toSeq is after the snapshot seq' });
    }
    if (manifest.data.reduce((sum, chunk) => sum + chunk.records - (chunk.drop?.length ?? 0), 0) !== manifest.records) {
      ctx.addIssue({ code: 'custom', message: 'records must equal the sum of data[].records less the dropped ones' });
    }
  });
/** A snapshot manifest. */
export type SnapshotManifest = z.infer<typeof snapshotManifestSchema>;

const text = (max: number) => z.string().max(max);
const name = z.string().min(1).max(256);
const millis = z.int().min(0);

/**
 * The server's account tables at one moment: users with their password
 * hashes, devices with hashed tokens, app passwords (hashed), DAV resource
 * names and import records. Rows keep the server's SQL column names; times
 * are milliseconds since the epoch and flags 0 or 1. `seq` is a revision
 * the state is at least as new as (every revision up to it was shipped
 * before the tables were read). Volatile columns (`last_seen_at`,
 * `last_used_at`) are not kept.
 */
export const accountStateSchema = z
  .strictObject({
    generation: generationSchema,
    seq: z.int().min(0),
    createdAt: isoTime,
    users: z.array(
      z.strictObject({
        id: name,
        username: name,
        password_hash: text(1024),
        disabled: z.int().min(0).max(1),
        created_at: millis,
        updated_at: millis,
        /** Where the user is told about incidents; absent when unset. */
        email: text(254).optional(),
      }),
    ),
    devices: z.array(
      z.strictObject({
        id: name,
        user_id: name,
        name: text(1024),
        token_hash: text(1024),
        created_at: millis,
        revoked_at: millis.nullable(),
      }),
    ),
    app_passwords: z.array(
      z.strictObject({
        id: name,
        user_id: name,
        label: text(1024),
        password_hash: text(1024),
        created_at: millis,
        revoked_at: millis.nullable(),
      }),
    ),
    dav_names: z.array(
      z.strictObject({
        user_id: name,
        collection_id: name,
        name: z.string().min(1).max(1024),
        item_id: name,
        created_at: millis,
      }),
    ),
    imports: z.array(
      z.strictObject({
        user_id: name,
        id: name,
        source: text(4096),
        format: text(256),
        device_id: name.nullable(),
        first_seq: millis.nullable(),
        last_seq: millis.nullable(),
        created: millis,
        updated: millis,
        skipped: millis,
        rejected: millis,
        report: text(16 * 1024 * 1024),
        undone_by: name.nullable(),
        created_at: millis,
      }),
    ),
  })
  .superRefine((state, ctx) => {
    const users = new Set(state.users.map((user) => user.id));
    for (const table of ['devices', 'app_passwords', 'dav_names', 'imports'] as const) {
      if (state[table].some((row) => !users.has(row.user_id))) {
        ctx.addIssue({ code: 'custom', message: `every ${table} row belongs to a listed user` });
      }
    }
  });
/** The server's account tables at one moment. */
export type AccountState = z.infer<typeof accountStateSchema>;

/** One named check of a restore drill. */
export const verificationCheckSchema = z.strictObject({
  name: z.string().min(1).max(200),
  ok: z.boolean(),
  detail: z.string().max(10_000).optional(),
});

/**
 * The result of a restore drill against one snapshot. `ok` may only be true
 * when every check passed and there are no errors.
 */
export const verificationSchema = z
  .strictObject({
    time: isoTime,
    snapshot: snapshotNameSchema,
    ok: z.boolean(),
    checks: z.array(verificationCheckSchema),
    errors: z.array(z.string().max(10_000)),
  })
  .refine((record) => !record.ok || (record.errors.length === 0 && record.checks.every((check) => check.ok)), {
    message: 'ok is true only when every check passed and there are no errors',
  });
/** A verification (restore drill) record. */
export type Verification = z.infer<typeof verificationSchema>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses strict UTF-8 JSON (malformed byte sequences are an error, not replacement characters). */
export function decodeJsonText(bytes: Uint8Array): unknown {
  return JSON.parse(utf8.decode(bytes));
}

/** The `config` object: plain UTF-8 JSON naming the repository and its format. */
export const repositoryConfigSchema = z.strictObject({
  format: z.literal('holdfast-backup'),
  version: z.int().min(1),
  repositoryId: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: isoTime,
});
/** The `config` object. */
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;
