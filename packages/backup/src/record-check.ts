import { isId } from '@holdfast/protocol';
import { decodeJson } from './object-store.js';
import { decodeJsonText, type Revision, snapshotDataSchema } from './schemas.js';

/*
 * Decoding snapshot data objects without running the schema on every record.
 *
 * A data object is read only after its bytes hashed to its name and its
 * envelope authenticated with the repository key, and `storeJson` ran the
 * full schema on every record before writing it: a record that breaks the
 * schema here is a writer bug, never damage or tampering. The schema is
 * still enforced, field for field, by the plain checks below (which restore
 * and verify of a large account run for every record, where the schema
 * library costs several times more); anything they do not accept goes
 * through the schema itself, so the error names what is wrong and nothing
 * the schema refuses is ever let through.
 */

const SHA256 = /^[0-9a-f]{64}$/;
/** `z.iso.datetime({ offset: true })`, as zod 4 writes it. */
const ISO_TIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;
const MAX_TEXT = 16 * 1024 * 1024;

/** Every field of a revision, and how many are required (all but `chain`). */
const REVISION_KEYS = new Set([
  'seq',
  'userId',
  'entity',
  'collectionId',
  'itemId',
  'op',
  'deviceId',
  'origin',
  'contentType',
  'content',
  'blob',
  'meta',
  'hash',
  'size',
  'baseSeq',
  'clientChangeId',
  'at',
  'chain',
]);

const isText = (value: unknown, max: number, min = 0): boolean =>
  typeof value === 'string' && value.length >= min && value.length <= max;
const isNullableText = (value: unknown, max: number, min = 0): boolean => value === null || isText(value, max, min);
const isInt = (value: unknown, min: number): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

function isBlobRef(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const ref = value as Record<string, unknown>;
  let keys = 0;
  for (const key in ref) {
    if (key !== 'sha256' && key !== 'contentType') return false;
    keys += 1;
  }
  return keys === 2 && typeof ref.sha256 === 'string' && SHA256.test(ref.sha256) && isText(ref.contentType, 255, 1);
}

/** Whether `value` is a record `revisionSchema` accepts, as that schema would return it. */
export function isRevision(value: unknown): value is Revision {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!REVISION_KEYS.has(key)) return false;
  if (Object.hasOwn(r, 'chain') && !(typeof r.chain === 'string' && SHA256.test(r.chain))) return false;
  return (
    isInt(r.seq, 1) &&
    isId(r.userId) &&
    (r.entity === 'item' || r.entity === 'collection') &&
    isId(r.collectionId) &&
    (r.itemId === null || isId(r.itemId)) &&
    (r.op === 'put' || r.op === 'delete') &&
    isNullableText(r.deviceId, 256, 1) &&
    isText(r.origin, 256) &&
    isNullableText(r.contentType, 255) &&
    isNullableText(r.content, MAX_TEXT) &&
    isBlobRef(r.blob) &&
    isNullableText(r.meta, MAX_TEXT) &&
    isNullableText(r.hash, 256) &&
    isInt(r.size, 0) &&
    (r.baseSeq === null || isInt(r.baseSeq, 0)) &&
    isNullableText(r.clientChangeId, 256) &&
    typeof r.at === 'string' &&
    ISO_TIME.test(r.at) &&
    (r.entity === 'collection') === (r.itemId === null) &&
    (r.op === 'put' || (r.content === null && r.blob === null))
  );
}

/**
 * The records of an opened snapshot data object, validated as
 * `snapshotDataSchema` does (see the top of this file for how).
 */
export function decodeSnapshotRecords(name: string, payload: Uint8Array): Revision[] {
  let parsed: unknown;
  try {
    parsed = decodeJsonText(payload);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const keys = Object.keys(parsed);
    const records = (parsed as { records?: unknown }).records;
    if (keys.length === 1 && keys[0] === 'records' && Array.isArray(records)) {
      if (records.every((record) => isRevision(record) && record.op === 'put')) return records as Revision[];
    }
  }
  // The schema's own error (or, should the checks above be stricter than it, its result).
  return decodeJson(name, snapshotDataSchema, payload).records;
}
