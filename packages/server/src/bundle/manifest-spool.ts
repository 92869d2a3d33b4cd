import { createJsonSpool } from './json-spool.js';
import type { Manifest, ManifestCollection, ManifestItem } from './manifest.js';

/** A collection's entry without its items (they are in the spool). */
export type CollectionSummary = Omit<ManifestCollection, 'items'>;
/** The manifest without per-item entries: what an export reports back. */
export type ManifestSummary = Omit<Manifest, 'collections'> & { collections: CollectionSummary[] };

/**
 * Per-item manifest entries, spooled to disk as the export goes (collection
 * after collection) instead of kept in memory, then streamed into
 * manifest.json. The manifest is the only part of an export that grows with
 * the account; this keeps it off the heap.
 */
export interface ManifestSpool {
  add(item: ManifestItem): Promise<void>;
  /** Items added since the last call (the current collection's count). */
  take(): number;
  /** manifest.json, built from `summary` with each collection's items read back in order. */
  write(summary: ManifestSummary, counts: number[]): AsyncGenerator<string>;
  close(): Promise<void>;
}

const HOLE = '\u0000items\u0000';

export async function createManifestSpool(): Promise<ManifestSpool> {
  const spool = await createJsonSpool<ManifestItem>();
  let pending = 0;
  return {
    add(item) {
      pending++;
      return spool.add(item);
    },
    take() {
      const n = pending;
      pending = 0;
      return n;
    },
    async *write(summary, counts) {
      const items = spool.lines();
      const [before, after] = JSON.stringify({ ...summary, collections: HOLE }, null, 1).split(JSON.stringify(HOLE));
      yield `${before}[`;
      for (const [index, collection] of summary.collections.entries()) {
        const [head, tail] = JSON.stringify({ ...collection, items: HOLE }).split(JSON.stringify(HOLE));
        yield `${index === 0 ? '' : ','}\n  ${head}[`;
        for (let i = 0; i < (counts[index] ?? 0); i++) {
          const next = await items.next();
          yield `${i === 0 ? '' : ','}\n   ${next.done ? 'null' : next.value}`;
        }
        yield `\n  ]${tail}`;
      }
      yield `\n ]${after}\n`;
    },
    close: () => spool.close(),
  };
}
