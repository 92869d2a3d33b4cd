import { decodeBlobPayload } from './blob.js';
import { checkReferences, type Inventory } from './check-references.js';
import { digestBuilder } from './digest.js';
import { type ObjectType, objectFailure } from './envelope.js';
import { keyObjectSchema, sha256Hex } from './keys.js';
import { isLockName, MARK_PREFIX } from './lock.js';
import { decodeJson, openStoredObject, parseObjectName } from './object-store.js';
import { decodeSnapshotRecords } from './record-check.js';
import { CONFIG_OBJECT, type Repository } from './repository.js';
import {
  accountStateSchema,
  type Digests,
  decodeJsonText,
  journalSegmentSchema,
  repositoryConfigSchema,
  snapshotManifestSchema,
  verificationSchema,
} from './schemas.js';
import { includedRecords } from './snapshot.js';
import { targetFailure } from './target.js';

/**
 * What can be wrong with a repository:
 * - `corrupted`: stored bytes do not hash to the name or fail authentication;
 * - `truncated`: stored bytes are shorter than their header declares;
 * - `invalid`: authentic, but breaking a schema or a format rule (including
 *   a count or digest that disagrees with the data);
 * - `missing`: an object referenced by `referencedBy` is not on the target;
 * - `journal_gap`: the journal chain does not link up (seq ranges or `prev`
 *   links disagree, or a chain starts where no snapshot covers what came before);
 * - `journal_fork`: two segments of one generation continue the same segment;
 * - `unexpected`: an object whose name is not part of the format.
 */
export type CheckProblemKind =
  | 'corrupted'
  | 'truncated'
  | 'invalid'
  | 'missing'
  | 'journal_gap'
  | 'journal_fork'
  | 'unexpected';

/** One problem, naming the object it is about. */
export interface CheckProblem {
  kind: CheckProblemKind;
  object: string;
  /** For `missing`: the object that references it. */
  referencedBy?: string;
  message: string;
}

/** The outcome of {@link checkRepository}. */
export interface CheckReport {
  /** True when there are no problems. */
  ok: boolean;
  problems: CheckProblem[];
  /** Objects read and bytes read. */
  objects: number;
  bytes: number;
}

/** Options for {@link checkRepository}. */
export interface CheckOptions {
  /** Objects read at once (default 8). */
  concurrency?: number;
}

/**
 * Reads every object back and checks it: rehashes the stored bytes against
 * the name, decrypts and authenticates, validates the schema, then checks
 * every reference (snapshots → data, blobs, journal head, account state; segments → previous
 * segment, blobs; verification records → snapshot), the journal chain rule,
 * and each snapshot's counts and digests against its data. Problems are
 * returned, not thrown; an error reaching the target (including a failed
 * listing) is thrown, because a check that could not look is not a pass.
 */
export async function checkRepository(repo: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  const inventory: Inventory = {
    listed: new Set(),
    segments: new Map(),
    snapshots: new Map(),
    dataCounts: new Map(),
    blobShas: new Map(),
    verifications: new Map(),
    pruned: false,
  };
  // Locks come and go while a check runs; they are not part of the repository's content.
  const all = await repo.target.listObjects('');
  const names = all.filter((name) => !isLockName(name) && !name.startsWith(MARK_PREFIX));
  inventory.pruned = all.some((name) => name.startsWith(MARK_PREFIX));
  for (const name of names) inventory.listed.add(name);
  if (!inventory.listed.has(CONFIG_OBJECT)) {
    problems.push({ kind: 'missing', object: CONFIG_OBJECT, message: 'the config object is missing' });
  }
  let bytes = 0;
  await forEachLimit(names, options.concurrency ?? 8, async (name) => {
    const stored = await readListed(repo, name, problems);
    if (!stored) return;
    bytes += stored.byteLength;
    const problem = inspectObject(repo, name, stored, inventory);
    if (problem) problems.push(problem);
  });
  problems.push(...checkReferences(inventory));
  problems.push(...(await checkSnapshotData(repo, inventory)));
  const order = (problem: CheckProblem) => [problem.object, problem.kind, problem.referencedBy ?? '', problem.message];
  problems.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    const at = x.findIndex((value, i) => value !== y[i]);
    return at === -1 ? 0 : (x[at] as string) < (y[at] as string) ? -1 : 1;
  });
  return { ok: problems.length === 0, problems, objects: names.length, bytes };
}

async function readListed(repo: Repository, name: string, problems: CheckProblem[]): Promise<Uint8Array | null> {
  try {
    return await repo.target.getObject(name);
  } catch (error) {
    if (targetFailure(error) !== 'missing') throw error;
    problems.push({ kind: 'missing', object: name, message: 'listed, but gone when read' });
    return null;
  }
}

/** Checks one object on its own and records what it says; returns its problem, if any. */
function inspectObject(repo: Repository, name: string, stored: Uint8Array, inventory: Inventory): CheckProblem | null {
  if (name === CONFIG_OBJECT) {
    return plainJsonProblem(name, stored, repositoryConfigSchema, false);
  }
  if (name.startsWith('keys/')) return plainJsonProblem(name, stored, keyObjectSchema, true);
  const parsed = parseObjectName(name);
  if (!parsed) return { kind: 'unexpected', object: name, message: 'not an object name of this format' };
  try {
    const payload = openStoredObject(repo, parsed.type, name, stored);
    record(parsed.type, name, payload, inventory);
    return null;
  } catch (error) {
    const failure = objectFailure(error);
    if (!failure) throw error;
    return { kind: failure, object: name, message: (error as Error).message };
  }
}

function record(type: ObjectType, name: string, payload: Uint8Array, inventory: Inventory): void {
  switch (type) {
    case 'journal':
      inventory.segments.set(name, decodeJson(name, journalSegmentSchema, payload));
      return;
    case 'snapshot':
      inventory.snapshots.set(name, decodeJson(name, snapshotManifestSchema, payload));
      return;
    case 'snapshot-data':
      inventory.dataCounts.set(name, decodeSnapshotRecords(name, payload).length);
      return;
    case 'blob':
      inventory.blobShas.set(name, sha256Hex(decodeBlobPayload(name, payload)));
      return;
    case 'verification':
      inventory.verifications.set(name, decodeJson(name, verificationSchema, payload));
      return;
    case 'accounts':
      decodeJson(name, accountStateSchema, payload);
      return;
  }
}

function plainJsonProblem(
  name: string,
  stored: Uint8Array,
  schema: { safeParse(value: unknown): { success: boolean } },
  hashNamed: boolean,
): CheckProblem | null {
  if (hashNamed && name !== `keys/${sha256Hex(stored)}`) {
    return { kind: 'corrupted', object: name, message: 'stored bytes do not match the SHA-256 in the name' };
  }
  let value: unknown;
  try {
    value = decodeJsonText(stored);
  } catch {
    return { kind: hashNamed ? 'invalid' : 'corrupted', object: name, message: 'not UTF-8 JSON' };
  }
  return schema.safeParse(value).success ? null : { kind: 'invalid', object: name, message: 'breaks its schema' };
}

/**
 * Re-reads the data of every snapshot whose data objects all passed, and
 * checks the records against the manifest: blob references are mapped, and
 * the digests recomputed from the records equal the stored ones.
 */
async function checkSnapshotData(repo: Repository, inventory: Inventory): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const [name, manifest] of inventory.snapshots) {
    if (!manifest.data.every((entry) => inventory.dataCounts.get(entry.object) === entry.records)) continue;
    const digests = digestBuilder();
    const unmapped = new Set<string>();
    try {
      for (const entry of manifest.data) {
        const payload = openStoredObject(
          repo,
          'snapshot-data',
          entry.object,
          await repo.target.getObject(entry.object),
        );
        for (const item of includedRecords(entry, decodeSnapshotRecords(entry.object, payload))) {
          digests.add(item);
          if (item.blob && manifest.blobs[item.blob.sha256] === undefined) unmapped.add(item.blob.sha256);
        }
      }
    } catch (error) {
      if (targetFailure(error) === 'unavailable' || targetFailure(error) === 'full') throw error;
      problems.push({
        kind: 'invalid',
        object: name,
        message: `snapshot data cannot be replayed: ${(error as Error).message}`,
      });
      continue;
    }
    for (const sha of unmapped) {
      problems.push({
        kind: 'invalid',
        object: name,
        message: `records reference blob ${sha}, which the manifest does not map`,
      });
    }
    if (!sameDigests(digests.digests(), manifest.digests)) {
      problems.push({
        kind: 'invalid',
        object: name,
        message: 'digests recomputed from the data differ from the manifest',
      });
    }
  }
  return problems;
}

/** Key-order-independent equality of two digest maps. */
function sameDigests(a: Digests, b: Digests): boolean {
  const canonical = (digests: Digests) =>
    Object.entries(digests)
      .flatMap(([user, collections]) =>
        Object.entries(collections).map(([collection, { count, hash }]) => `${user}\t${collection}\t${count}\t${hash}`),
      )
      .sort()
      .join('\n');
  return canonical(a) === canonical(b);
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
