import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type BlobMap,
  compareAccountStates,
  type JournalHead,
  listSnapshots,
  type Repository,
  readAccountState,
  readJournalSegment,
  type StoredSnapshot,
  typePrefix,
} from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';

/** What a journal segment says about the chain (immutable: segment names are hashes of their bytes). */
export interface SegmentInfo {
  generation: string;
  fromSeq: number;
  toSeq: number;
  prev: string | null;
  createdAt: string;
  blobs: BlobMap;
  /** How many revisions the segment holds (absent in caches written before it was recorded). */
  revisions?: number;
}

/**
 * Facts already read from a repository, keyed by object name. Since objects
 * are named by the hash of their bytes, a cached fact can never be wrong,
 * only missing, so the cache can be kept on local disk between runs and a
 * scan reads only segments it has not seen.
 */
export interface SegmentCache {
  segments: Map<string, SegmentInfo>;
  /** Account state objects: their generation, seq and time. */
  accounts: Map<string, AccountStateInfo>;
  /** Which entity each data object of the newest snapshot this process wrote holds (also immutable facts). */
  layout: { snapshot: string; objects: { object: string; entries: ({ key: string; seq: number } | null)[] }[] } | null;
  /** Where the cache is kept between runs, or null for memory only. */
  file: string | null;
}

/** What an account state object says about itself (immutable, like segments). */
export interface AccountStateInfo {
  generation: string;
  seq: number;
  createdAt: string;
}

/** A repository as one scan saw it. */
export interface RepositoryView {
  /** Every listed segment (read or cached). */
  segments: Map<string, SegmentInfo>;
  /** Every listed account state (read or cached). */
  accounts: Map<string, AccountStateInfo>;
  /** Every snapshot, oldest first. */
  snapshots: StoredSnapshot[];
  /** Every listed blob object. */
  blobObjects: Set<string>;
  /** Every listed snapshot data object. */
  dataObjects: Set<string>;
}

/** Loads a segment cache from `file` (a missing or unreadable file is an empty cache). */
export async function loadSegmentCache(file: string | null): Promise<SegmentCache> {
  const cache: SegmentCache = { segments: new Map(), accounts: new Map(), layout: null, file };
  if (!file) return cache;
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as {
      segments?: Record<string, SegmentInfo>;
      accounts?: Record<string, AccountStateInfo>;
      layout?: SegmentCache['layout'];
    };
    for (const [name, info] of Object.entries(data.segments ?? {})) cache.segments.set(name, info);
    for (const [name, info] of Object.entries(data.accounts ?? {})) cache.accounts.set(name, info);
    cache.layout = data.layout ?? null;
  } catch {
    // No cache yet, or an unreadable one: the next scan reads the segments again.
  }
  return cache;
}

/** Writes the cache file (atomically); only segments still listed are kept. */
export async function saveSegmentCache(cache: SegmentCache): Promise<void> {
  if (!cache.file) return;
  await mkdir(dirname(cache.file), { recursive: true });
  const tmp = `${cache.file}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify({
      segments: Object.fromEntries(cache.segments),
      accounts: Object.fromEntries(cache.accounts),
      layout: cache.layout,
    }),
  );
  await rename(tmp, cache.file);
}

/**
 * Lists the repository and reads what the cache does not know. A listing
 * error is thrown, never taken for an empty repository.
 */
export async function scanRepository(repo: Repository, cache: SegmentCache): Promise<RepositoryView> {
  const names = await repo.target.listObjects(typePrefix('journal'));
  const segments = new Map<string, SegmentInfo>();
  for (const name of names) {
    let info = cache.segments.get(name);
    if (!info) {
      const segment = await readJournalSegment(repo, name);
      info = {
        generation: segment.generation,
        fromSeq: segment.fromSeq,
        toSeq: segment.toSeq,
        prev: segment.prev?.object ?? null,
        createdAt: segment.createdAt,
        blobs: segment.blobs,
        revisions: segment.revisions.length,
      };
    }
    segments.set(name, info);
  }
  cache.segments = new Map(segments);
  const accounts = new Map<string, AccountStateInfo>();
  for (const name of await repo.target.listObjects(typePrefix('accounts'))) {
    let info = cache.accounts.get(name);
    if (!info) {
      const { generation, seq, createdAt } = await readAccountState(repo, name);
      info = { generation, seq, createdAt };
    }
    accounts.set(name, info);
  }
  cache.accounts = new Map(accounts);
  const snapshots = await listSnapshots(repo);
  const blobObjects = new Set(await repo.target.listObjects(typePrefix('blob')));
  const dataObjects = new Set(await repo.target.listObjects(typePrefix('snapshot-data')));
  return { segments, accounts, snapshots, blobObjects, dataObjects };
}

/** Adds a segment this process just wrote. */
export function rememberSegment(view: RepositoryView, cache: SegmentCache, name: string, info: SegmentInfo): void {
  view.segments.set(name, info);
  cache.segments.set(name, info);
}

/**
 * The head of `generation`'s chain: its segment that no other segment of the
 * generation continues, with the highest toSeq. Null when the generation has
 * no segment.
 */
export function chainHead(view: RepositoryView, generation: string): JournalHead | null {
  const continued = new Set<string>();
  for (const info of view.segments.values()) if (info.generation === generation && info.prev) continued.add(info.prev);
  let head: JournalHead | null = null;
  for (const [object, info] of view.segments) {
    if (info.generation !== generation || continued.has(object)) continue;
    if (!head || info.toSeq > head.toSeq) head = { object, toSeq: info.toSeq };
  }
  return head;
}

/** The newest account state of `generation` (by seq, then recorded time), or null. */
export function newestAccountState(view: Pick<RepositoryView, 'accounts'>, generation: string): string | null {
  const own = [...view.accounts]
    .filter(([, info]) => info.generation === generation)
    .map(([object, info]) => ({ object, ...info }))
    .sort(compareAccountStates);
  return own.at(-1)?.object ?? null;
}

/** The newest snapshot of `generation`, or null. */
export function newestSnapshot(view: RepositoryView, generation?: string): StoredSnapshot | null {
  const own = view.snapshots.filter((s) => generation === undefined || s.manifest.generation === generation);
  return own.at(-1) ?? null;
}

/** The blob index (plaintext sha256 → object) from every segment and snapshot, keeping listed objects only. */
export function blobIndexOf(view: RepositoryView): Map<string, string> {
  const index = new Map<string, string>();
  const add = (blobs: BlobMap) => {
    for (const [sha, object] of Object.entries(blobs)) if (view.blobObjects.has(object)) index.set(sha, object);
  };
  for (const snapshot of view.snapshots) add(snapshot.manifest.blobs);
  for (const info of view.segments.values()) add(info.blobs);
  return index;
}

/**
 * The segments from `head` back to (but excluding) seq `afterSeq`, oldest
 * first, using what the view knows. Throws if the chain breaks before.
 */
export function chainFrom(
  view: RepositoryView,
  head: string,
  afterSeq: number,
): { object: string; info: SegmentInfo }[] {
  const chain: { object: string; info: SegmentInfo }[] = [];
  let object: string | null = head;
  while (object !== null) {
    const info = view.segments.get(object);
    if (!info) throw new AppError('internal', `journal segment ${object} is missing`, { object });
    if (info.toSeq <= afterSeq) break;
    chain.push({ object, info });
    if (info.fromSeq <= afterSeq + 1) break;
    if (!info.prev)
      throw new AppError('internal', `journal chain starts at seq ${info.fromSeq}, after ${afterSeq + 1}`);
    object = info.prev;
  }
  return chain.reverse();
}
