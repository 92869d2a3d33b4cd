import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import { executor, type Queryable } from './queryable.js';
import type { Database } from './schema.js';

/**
 * Queries that run on every write or DAV request, built and compiled once per
 * database dialect instead of on every call: Kysely's builder and compiler
 * cost more than SQLite takes to run a small indexed statement. The query is
 * built with placeholder values (slots) and compiled; each later call only
 * puts its own values where the slots were. The SQL stays written with the
 * query builder, so it is checked against the schema like any other.
 */
const SLOTS = 24;

/** Stand-ins for the values in call order, typed to fit wherever the builder wants a value. */
export type Slots = readonly [
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
  never,
];

interface Compiled {
  query: CompiledQuery;
  /** For each bound parameter: the index of the caller's value, or the constant the builder put there. */
  sources: ({ slot: number } | { value: unknown })[];
}

export function compiledOnce<R, P extends unknown[]>(
  build: (db: Kysely<Database>, slots: Slots) => Compilable<R>,
): (on: Queryable, ...values: P) => Promise<R[]> {
  const names = Array.from({ length: SLOTS }, (_, i) => `\u0000slot ${i}\u0000`);
  const slots = names as unknown as Slots;
  const bySlot = new Map(names.map((s, i) => [s, i]));
  // Per dialect adapter: one deployment has one, tests open both engines in one process.
  const cache = new WeakMap<object, Compiled>();
  return async (on, ...values) => {
    const db = executor(on);
    const adapter = db.getExecutor().adapter;
    let compiled = cache.get(adapter);
    if (!compiled) {
      const query = build(db, slots).compile();
      const sources = query.parameters.map((p) => {
        const slot = typeof p === 'string' ? bySlot.get(p) : undefined;
        return slot === undefined ? { value: p } : { slot };
      });
      compiled = { query, sources };
      cache.set(adapter, compiled);
    }
    const parameters = compiled.sources.map((s) => ('slot' in s ? values[s.slot] : s.value));
    const result = await db.executeQuery<R>({ ...compiled.query, parameters });
    return result.rows;
  };
}

/** Lists of each length compiled and kept, per dialect: a batch's lists come in a few lengths. */
const LIST_LENGTHS = 32;

/**
 * `compiledOnce` for a query with one list of values (`id in (…)`): built and
 * compiled once for each length of list, so a batch of reads does not build
 * and compile a fresh query for its hundred ids every time.
 */
export function compiledForList<R, P extends unknown[]>(
  build: (db: Kysely<Database>, list: readonly never[], slots: Slots) => Compilable<R>,
): (on: Queryable, list: readonly unknown[], ...values: P) => Promise<R[]> {
  const names = Array.from({ length: SLOTS }, (_, i) => `\u0000slot ${i}\u0000`);
  const slots = names as unknown as Slots;
  const bySlot = new Map(names.map((s, i) => [s, i]));
  const cache = new WeakMap<object, Map<number, ListCompiled>>();
  return async (on, list, ...values) => {
    const db = executor(on);
    const adapter = db.getExecutor().adapter;
    let byLength = cache.get(adapter);
    if (!byLength) {
      byLength = new Map();
      cache.set(adapter, byLength);
    }
    let compiled = byLength.get(list.length);
    if (!compiled) {
      const items = Array.from({ length: list.length }, (_, i) => `\u0000item ${i}\u0000`);
      const byItem = new Map(items.map((s, i) => [s, i]));
      const query = build(db, items as unknown as never[], slots).compile();
      const sources = query.parameters.map((p): ListSource => {
        if (typeof p !== 'string') return { value: p };
        const slot = bySlot.get(p);
        if (slot !== undefined) return { slot };
        const item = byItem.get(p);
        return item === undefined ? { value: p } : { item };
      });
      compiled = { query, sources };
      if (byLength.size >= LIST_LENGTHS) byLength.delete(byLength.keys().next().value as number);
      byLength.set(list.length, compiled);
    }
    const parameters = compiled.sources.map((s) =>
      'slot' in s ? values[s.slot] : 'item' in s ? list[s.item] : s.value,
    );
    const result = await db.executeQuery<R>({ ...compiled.query, parameters });
    return result.rows;
  };
}

type ListSource = { slot: number } | { item: number } | { value: unknown };

interface ListCompiled {
  query: CompiledQuery;
  sources: ListSource[];
}
