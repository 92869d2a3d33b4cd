import { AppError } from '@holdfast/protocol';
import type { z } from 'zod';
import {
  type Compression,
  HEADER_LENGTH,
  type ObjectType,
  objectError,
  openEnvelope,
  openEnvelopeAsync,
  readEnvelopeHeader,
  sealEnvelope,
  TAG_LENGTH,
} from './envelope.js';
import { sha256Hex } from './keys.js';
import { CONFIG_OBJECT, objectKeyOf, type Repository } from './repository.js';
import { decodeJsonText } from './schemas.js';
import { sameBytes } from './target.js';

/*
 * The repository's enveloped objects: how they are named, and how they are
 * stored and read back (docs/backup-format.md, sections 2, 3 and 5).
 */

const prefixes: Record<ObjectType, { prefix: string; fanOut: boolean }> = {
  journal: { prefix: 'journal/', fanOut: false },
  blob: { prefix: 'blobs/', fanOut: true },
  'snapshot-data': { prefix: 'data/', fanOut: true },
  snapshot: { prefix: 'snapshots/', fanOut: false },
  verification: { prefix: 'verifications/', fanOut: false },
  accounts: { prefix: 'accounts/', fanOut: false },
};

/** The listing prefix of an object type, e.g. `journal/`. */
export function typePrefix(type: ObjectType): string {
  return prefixes[type].prefix;
}

/** The name of an object of `type` whose stored bytes hash to `sha256`. */
export function objectName(type: ObjectType, sha256: string): string {
  const { prefix, fanOut } = prefixes[type];
  return fanOut ? `${prefix}${sha256.slice(0, 2)}/${sha256}` : `${prefix}${sha256}`;
}

/** The type and hash encoded in an object name, or null if it is not a well-formed enveloped-object name. */
export function parseObjectName(name: string): { type: ObjectType; sha256: string } | null {
  for (const [type, { prefix, fanOut }] of Object.entries(prefixes) as [ObjectType, (typeof prefixes)[ObjectType]][]) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const match = fanOut ? /^([0-9a-f]{2})\/(\1[0-9a-f]{62})$/.exec(rest) : /^()([0-9a-f]{64})$/.exec(rest);
    return match ? { type, sha256: match[2] as string } : null;
  }
  return null;
}

/** Confirms every object exists before something that references it is written. */
export async function assertStored(repo: Repository, objects: readonly string[], referrer: string): Promise<void> {
  for (const object of objects) {
    if (!(await repo.target.hasObject(object))) {
      throw new AppError('precondition_failed', `cannot write ${referrer}: referenced object ${object} is missing`, {
        object,
      });
    }
  }
}

/**
 * Lists the repository's objects under `prefix`. An empty result is only
 * believed after confirming `config` is still there: a backup disk that is
 * not mounted, or a bucket that was emptied, must not look like a repository
 * with nothing in it.
 */
export async function listRepositoryObjects(repo: Repository, prefix: string): Promise<string[]> {
  const names = await repo.target.listObjects(prefix);
  if (names.length === 0 && !(await repo.target.hasObject(CONFIG_OBJECT))) {
    throw new AppError('unavailable', `${repo.target.description} no longer holds repository ${repo.id}`, {
      reason: 'unavailable',
      target: repo.target.description,
    });
  }
  return names;
}

/**
 * Seals `payload` into an envelope, proves the envelope opens to the same
 * bytes (nothing is stored unverified), and stores it under the hash of the
 * stored bytes. Returns the object name.
 */
export async function storeObject(
  repo: Repository,
  type: ObjectType,
  payload: Uint8Array,
  compression: Compression = 'brotli',
): Promise<string> {
  const key = objectKeyOf(repo);
  const stored = await sealEnvelope(key, type, payload, compression);
  const name = objectName(type, sha256Hex(stored));
  if (!sameBytes(openEnvelope(key, type, stored, name), payload)) {
    throw new AppError('internal', `encoding ${type} object ${name} did not round-trip; nothing was stored`);
  }
  await repo.target.putObject(name, stored);
  return name;
}

/**
 * Checks stored bytes against their name and opens them: `corrupted` when
 * they do not hash to the name (or `truncated` when shorter than the header
 * declares), then the envelope's own checks.
 */
export function openStoredObject(repo: Repository, type: ObjectType, name: string, stored: Uint8Array): Uint8Array {
  checkStoredName(type, name, stored);
  return openEnvelope(objectKeyOf(repo), type, stored, name);
}

/** {@link openStoredObject}, decompressing on the thread pool. */
export async function openStoredObjectAsync(
  repo: Repository,
  type: ObjectType,
  name: string,
  stored: Uint8Array,
): Promise<Uint8Array> {
  checkStoredName(type, name, stored);
  return openEnvelopeAsync(objectKeyOf(repo), type, stored, name);
}

function checkStoredName(type: ObjectType, name: string, stored: Uint8Array): void {
  const parsed = parseObjectName(name);
  if (!parsed || parsed.type !== type) throw objectError('invalid', name, `is not a ${type} object name`);
  if (sha256Hex(stored) !== parsed.sha256) {
    const header = readEnvelopeHeader(stored);
    if (header && stored.byteLength < HEADER_LENGTH + header.ciphertextLength + TAG_LENGTH) {
      throw objectError('truncated', name, `${stored.byteLength} bytes stored, shorter than its header declares`);
    }
    if (!header && stored.byteLength < HEADER_LENGTH) {
      throw objectError('truncated', name, `only ${stored.byteLength} bytes stored`);
    }
    throw objectError('corrupted', name, 'stored bytes do not match the SHA-256 in the name');
  }
}

/** Reads, rehashes and opens an object of `type`. */
export async function loadObject(repo: Repository, type: ObjectType, name: string): Promise<Uint8Array> {
  return openStoredObject(repo, type, name, await repo.target.getObject(name));
}

/** Validates `value` against `schema`, then stores it as a JSON object of `type`. */
export async function storeJson<T extends z.ZodType>(
  repo: Repository,
  type: ObjectType,
  schema: T,
  value: z.input<T>,
): Promise<{ name: string; value: z.infer<T> }> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('invalid_request', `invalid ${type} object: ${parsed.error.message}`, {
      issues: parsed.error.issues,
    });
  }
  const name = await storeObject(repo, type, Buffer.from(JSON.stringify(parsed.data), 'utf8'));
  return { name, value: parsed.data };
}

/** Parses the payload of an opened object as JSON of `schema`; `invalid` names the object otherwise. */
export function decodeJson<T extends z.ZodType>(name: string, schema: T, payload: Uint8Array): z.infer<T> {
  let value: unknown;
  try {
    value = decodeJsonText(payload);
  } catch {
    throw objectError('invalid', name, 'payload is not UTF-8 JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw objectError('invalid', name, `breaks its schema: ${result.error.message}`);
  return result.data;
}

/** Reads, rehashes, opens and validates a JSON object of `type`. */
export async function loadJson<T extends z.ZodType>(
  repo: Repository,
  type: ObjectType,
  schema: T,
  name: string,
): Promise<z.infer<T>> {
  return decodeJson(name, schema, await loadObject(repo, type, name));
}
