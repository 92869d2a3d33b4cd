import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
import type { SnapshotLayout } from './snapshot-builder.js';

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
 *
 * The file holds one fact per line and grows by appending what was learned
 * since the last save: a server that has written a hundred thousand segments
 * would otherwise serialize all of them (30 MB, 300 ms on the event loop)
 * every minute. It is written whole only when facts must go (a scan found
 * objects gone), on its first save, or after a torn or old-format file.
 */
export interface SegmentCache {
  segments: Map<string, SegmentInfo>;
  /** Account state objects: their generation, seq and time. */
  accounts: Map<string, AccountStateInfo>;
  /** Which entity each data object of the newest snapshot this process wrote holds (also immutable facts). */
  layout: SnapshotLayout | null;
  /** Where the cache is kept between runs, or null for memory only. */
  file: string | null;
  /** Facts learned since the file was last written, appended by the next save. */
  unsaved: CacheLine[];
  /** The next save writes the file whole instead of appending. */
  rewrite: boolean;
  /** An append failed, perhaps half done: the next one starts on a new line. */
  broken: boolean;
}

/** One line of the cache file: a segment's facts, an account state's, or the newest layout. */
type CacheLine = ['segment', string, SegmentInfo] | ['account', string, AccountStateInfo] | ['layout', SnapshotLayout];

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
  const cache: SegmentCache = {
    segments: new Map(),
    accounts: new Map(),
    layout: null,
    file,
    unsaved: [],
    rewrite: true,
    broken: false,
  };
  if (!file) return cache;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // No cache yet: the next scan reads the segments, the next save writes the file.
    return cache;
  }
  if (text.startsWith('{')) {
    loadWholeCache(cache, text);
    return cache;
  }
  let torn = false;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      apply(cache, JSON.parse(line) as CacheLine);
    } catch {
      // A save cut short (a crash mid-append): that fact is read again from the target.
      torn = true;
    }
  }
  cache.rewrite = torn;
  return cache;
}

/** The file as one JSON object, as written before it held a fact per line; rewritten in lines at the next save. */
function loadWholeCache(cache: SegmentCache, text: string): void {
  try {
    const data = JSON.parse(text) as {
      segments?: Record<string, SegmentInfo>;
      accounts?: Record<string, AccountStateInfo>;
      layout?: SnapshotLayout | null;
    };
    for (const [name, info] of Object.entries(data.segments ?? {})) cache.segments.set(name, info);
    for (const [name, info] of Object.entries(data.accounts ?? {})) cache.accounts.set(name, info);
    cache.layout = data.layout ?? null;
  } catch {
    // Unreadable: the next scan reads the segments again.
  }
}

function apply(cache: SegmentCache, line: CacheLine): void {
  if (line[0] === 'segment') cache.segments.set(line[1], line[2]);
  else if (line[0] === 'account') cache.accounts.set(line[1], line[2]);
  else if (line[0] === 'layout') cache.layout = line[1];
  else throw new Error('unknown cache line');
}

/** Records a fact for the next save (only a cache kept in a file needs the line). */
function learned(cache: SegmentCache, line: CacheLine): void {
  if (cache.file) cache.unsaved.push(line);
}

/**
 * Drops the segment facts the file already holds from memory. Until the file
 * has been written whole once (a new file, or one that must lose facts), a
 * file-backed cache keeps them for that write; a cache without a file keeps them.
 */
export function forgetSavedSegments(cache: SegmentCache): void {
  if (cache.file && !cache.rewrite) cache.segments.clear();
}

/** Every fact of the cache, one line each, as a whole-file save writes them. */
function allLines(cache: SegmentCache): string[] {
  const lines: string[] = [];
  for (const [name, info] of cache.segments) lines.push(JSON.stringify(['segment', name, info]));
  for (const [name, info] of cache.accounts) lines.push(JSON.stringify(['account', name, info]));
  if (cache.layout) lines.push(JSON.stringify(['layout', cache.layout]));
  return lines;
}

/** Saves the cache: appends what was learned since the last save, or writes the file whole (atomically) when due. */
export async function saveSegmentCache(cache: SegmentCache): Promise<void> {
  if (!cache.file) return;
  if (cache.rewrite) {
    // The facts in memory, then those kept for the file only. Facts learned
    // while the file is being written are appended by the save after.
    const taken = cache.unsaved;
    const fileOnly = taken.filter((line) => line[0] === 'segment' && !cache.segments.has(line[1]));
    const lines = [...allLines(cache), ...fileOnly.map((line) => JSON.stringify(line))];
    cache.rewrite = false;
    cache.unsaved = [];
    try {
      await mkdir(dirname(cache.file), { recursive: true });
      const tmp = `${cache.file}.tmp`;
      await writeFile(tmp, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
      await rename(tmp, cache.file);
      forgetSavedSegments(cache);
    } catch (error) {
      // Written whole, or not at all: the same save is due again.
      cache.unsaved = [...taken, ...cache.unsaved];
      cache.rewrite = true;
      throw error;
    }
    cache.broken = false;
    return;
  }
  if (cache.unsaved.length === 0) return;
  const taken = cache.unsaved;
  cache.unsaved = [];
  try {
    const text = `${taken.map((line) => JSON.stringify(line)).join('\n')}\n`;
    await appendFile(cache.file, cache.broken ? `\n${text}` : text);
    cache.broken = false;
  } catch (error) {
    // The facts are appended again next time; a half-written line before them is skipped when loaded.
    cache.unsaved = [...taken, ...cache.unsaved];
    cache.broken = true;
    throw error;
  }
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
      learned(cache, ['segment', name, info]);
    }
    segments.set(name, info);
  }
  // Facts about objects no longer listed (pruned) leave the file only when it is written whole.
  if (segments.size < cache.segments.size || [...cache.segments.keys()].some((name) => !segments.has(name))) {
    cache.rewrite = true;
  }
  cache.segments = new Map(segments);
  const accounts = new Map<string, AccountStateInfo>();
  for (const name of await repo.target.listObjects(typePrefix('accounts'))) {
    let info = cache.accounts.get(name);
    if (!info) {
      const { generation, seq, createdAt } = await readAccountState(repo, name);
      info = { generation, seq, createdAt };
      learned(cache, ['account', name, info]);
    }
    accounts.set(name, info);
  }
  if ([...cache.accounts.keys()].some((name) => !accounts.has(name))) cache.rewrite = true;
  cache.accounts = new Map(accounts);
  const snapshots = await listSnapshots(repo);
  const blobObjects = new Set(await repo.target.listObjects(typePrefix('blob')));
  const dataObjects = new Set(await repo.target.listObjects(typePrefix('snapshot-data')));
  return { segments, accounts, snapshots, blobObjects, dataObjects };
}

/**
 * Records a segment this process just wrote, for the cache file only. A
 * connection reads segment facts when it connects (the chain's head, the
 * blob index) and never again; each connection scans anew, from this file.
 * Held in memory, they grew by about 370 bytes for every segment ever written.
 */
export function rememberSegment(cache: SegmentCache, name: string, info: SegmentInfo): void {
  learned(cache, ['segment', name, info]);
}

/** Adds an account state this process just wrote. */
export function rememberAccountState(
  view: RepositoryView,
  cache: SegmentCache,
  name: string,
  info: AccountStateInfo,
): void {
  view.accounts.set(name, info);
  cache.accounts.set(name, info);
  learned(cache, ['account', name, info]);
}

/** Keeps the layout of the snapshot this process just took, for the next one to reuse. */
export function rememberLayout(cache: SegmentCache, layout: SnapshotLayout | null): void {
  cache.layout = layout;
  if (layout) learned(cache, ['layout', layout]);
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
