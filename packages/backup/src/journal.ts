import { AppError } from '@holdfast/protocol';
import { assertStored, listRepositoryObjects, loadJson, storeJson, storeObject, typePrefix } from './object-store.js';
import { isRevision } from './record-check.js';
import type { Repository } from './repository.js';
import {
  type BlobMap,
  blobMapSchema,
  type JournalSegment,
  journalSegmentSchema,
  type Revision,
  referencedBlobs,
} from './schemas.js';

/** The end of an existing chain: a segment's object name and the last seq it covers. */
export interface JournalHead {
  object: string;
  toSeq: number;
}

/** What a new journal segment holds. */
export interface JournalSegmentInput {
  /** The server database lineage the revisions come from. */
  generation: string;
  /** The segment this one continues, or null to start a chain. */
  prev: JournalHead | null;
  /** The revisions, in seq order. */
  revisions: readonly Revision[];
  /** Plaintext sha256 → blob object, for (at least) every blob the revisions reference. */
  blobs?: BlobMap | ReadonlyMap<string, string>;
  /** First seq covered; default `prev.toSeq + 1`, or the first revision's seq for a new chain. */
  fromSeq?: number;
  /** Last seq covered; default the last revision's seq. */
  toSeq?: number;
}

/** A stored segment and its object name. */
export interface StoredSegment {
  object: string;
  segment: JournalSegment;
}

/**
 * The segment this process stored last, by repository. Objects are
 * write-once and named by their hash, so a segment this writer stored (and
 * proved to decrypt before storing) through this same repository handle is
 * neither read back nor looked up when the next one links to it: the target
 * confirmed it durable moments ago, and nothing deletes journal segments
 * while the writer holds its lock (a prune takes the target first).
 */
const lastWritten = new WeakMap<Repository, JournalHead>();

/** Checks that `prev` exists and ends at the `toSeq` the caller links to. */
async function assertPrevious(repo: Repository, prev: JournalHead): Promise<void> {
  const known = lastWritten.get(repo);
  if (known?.object !== prev.object) {
    // Read the previous segment back rather than trusting the caller's toSeq: a wrong link breaks the chain.
    const segment = await readJournalSegment(repo, prev.object);
    if (segment.toSeq === prev.toSeq) return;
    throw previousMismatch(prev, segment.toSeq);
  }
  if (known.toSeq !== prev.toSeq) throw previousMismatch(prev, known.toSeq);
}

function previousMismatch(prev: JournalHead, actual: number): AppError {
  return new AppError('precondition_failed', `previous segment ${prev.object} ends at ${actual}, not ${prev.toSeq}`);
}

/**
 * Writes a journal segment after checking what it points at: the previous
 * segment and every referenced blob must already be stored (a segment never
 * references data that is not durable). Returns the new chain head.
 */
export async function writeJournalSegment(repo: Repository, input: JournalSegmentInput): Promise<StoredSegment> {
  const first = input.revisions[0];
  const last = input.revisions.at(-1);
  const fromSeq = input.fromSeq ?? (input.prev ? input.prev.toSeq + 1 : first?.seq);
  const toSeq = input.toSeq ?? last?.seq;
  if (fromSeq === undefined || toSeq === undefined) {
    throw new AppError('invalid_request', 'an empty journal segment needs explicit fromSeq and toSeq');
  }
  const given = input.blobs instanceof Map ? Object.fromEntries(input.blobs) : { ...(input.blobs ?? {}) };
  const blobs: BlobMap = {};
  for (const sha of referencedBlobs(input.revisions)) {
    const object = given[sha];
    if (object === undefined) throw new AppError('invalid_request', `no blob object given for blob ${sha}`);
    blobs[sha] = object;
  }
  if (input.prev) await assertPrevious(repo, input.prev);
  await assertStored(repo, Object.values(blobs), 'journal segment');
  const segment: JournalSegment = {
    generation: input.generation,
    fromSeq,
    toSeq,
    prev: input.prev ? { object: input.prev.object, toSeq: input.prev.toSeq } : null,
    createdAt: repo.clock().toISOString(),
    revisions: [...input.revisions],
    blobs,
  };
  const checked = checkedSegment(segment);
  const { name, value } = checked
    ? { name: await storeSegment(repo, Buffer.from(JSON.stringify(checked), 'utf8')), value: checked }
    : await storeJson(repo, 'journal', journalSegmentSchema, segment);
  lastWritten.set(repo, { object: name, toSeq: value.toSeq });
  return { object: name, segment: value };
}

/**
 * Segments smaller than this are stored uncompressed: a segment of one or a
 * few revisions (a DAV PUT, a small push) saves a few hundred bytes by
 * compression, and compressing it and decompressing it again for the
 * round-trip check cost more than the rest of encoding it.
 */
export const JOURNAL_COMPRESS_MIN_BYTES = 4096;

function storeSegment(repo: Repository, payload: Buffer): Promise<string> {
  return storeObject(repo, 'journal', payload, payload.byteLength < JOURNAL_COMPRESS_MIN_BYTES ? 'none' : 'brotli');
}

/**
 * `segment` as `journalSegmentSchema` returns it, checked without running the
 * schema on every revision (a segment is written for every acknowledged
 * write, and the schema library costs several times more than the plain
 * checks of record-check.ts). Null when a check refuses anything: the caller
 * then runs the schema, whose error names what is wrong, so nothing the
 * schema refuses is ever stored.
 */
function checkedSegment(segment: JournalSegment): JournalSegment | null {
  let last = segment.fromSeq - 1;
  for (const revision of segment.revisions) {
    if (!isRevision(revision) || revision.seq <= last || revision.seq > segment.toSeq) return null;
    last = revision.seq;
  }
  // The few other fields go through the schema itself. `blobs` maps exactly the referenced blobs by construction.
  const shell = journalSegmentSchema.safeParse({ ...segment, revisions: [], blobs: {} });
  const blobs = blobMapSchema.safeParse(segment.blobs);
  if (!shell.success || !blobs.success) return null;
  return { ...shell.data, revisions: segment.revisions, blobs: blobs.data };
}

/** Reads, rehashes, decrypts and validates one journal segment. */
export function readJournalSegment(repo: Repository, object: string): Promise<JournalSegment> {
  return loadJson(repo, 'journal', journalSegmentSchema, object);
}

/** Names of every stored journal segment (sorted by name, which says nothing about order). */
export function listJournalSegments(repo: Repository): Promise<string[]> {
  return listRepositoryObjects(repo, typePrefix('journal'));
}

/**
 * Follows `prev` links back from `head` until the chain covers every seq
 * after `afterSeq`, and returns those segments oldest first. Throws when the
 * chain breaks first: a segment is missing or unreadable, a link's `toSeq`
 * disagrees with the segment it names, or the chain starts after `afterSeq + 1`.
 */
export async function readJournalChain(repo: Repository, head: string, afterSeq = 0): Promise<StoredSegment[]> {
  const chain: StoredSegment[] = [];
  let object: string | null = head;
  let expectedToSeq: number | null = null;
  while (object !== null) {
    const segment = await readJournalSegment(repo, object);
    if (expectedToSeq !== null && segment.toSeq !== expectedToSeq) {
      throw new AppError(
        'internal',
        `journal segment ${object} ends at ${segment.toSeq}, its successor expects ${expectedToSeq}`,
        {
          object,
        },
      );
    }
    if (segment.toSeq <= afterSeq) break;
    chain.push({ object, segment });
    if (segment.fromSeq <= afterSeq + 1) break;
    if (!segment.prev) {
      throw new AppError(
        'internal',
        `journal chain starts at seq ${segment.fromSeq}; seqs after ${afterSeq} are missing`,
        {
          object,
        },
      );
    }
    expectedToSeq = segment.prev.toSeq;
    object = segment.prev.object;
  }
  return chain.reverse();
}
