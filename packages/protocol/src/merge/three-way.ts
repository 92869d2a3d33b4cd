import type { MergeSide } from './merge-result.js';
import { type Numbered, numberOccurrences } from './occurrences.js';

/** A value with the identity it is matched by across base, local and remote; repeats are allowed. */
export interface Keyed<T> {
  readonly key: string;
  readonly value: T;
}

/** The decisions a caller makes where the generic rules cannot. */
export interface ThreeWayHooks<T> {
  same(a: T, b: T): boolean;
  /** Both sides hold the key and both differ from base (or base lacks it). */
  bothChanged(base: T | undefined, local: T, remote: T): T;
  /** One side changed or added what the other deleted; the change is kept. */
  editOverDelete(edited: T, side: MergeSide, base: T): void;
  /** The side whose copies survive when both sides still hold a key but each deleted the copy the other kept. */
  readonly winner: MergeSide;
}

/**
 * Three-way merge of keyed values, add-wins:
 * - a key only one side changed takes that side;
 * - a key both sides changed goes to `hooks.bothChanged`;
 * - a key is dropped only when one side removed it and the other still holds
 *   it exactly as in base (or both removed it);
 * - a key either side added is kept;
 * - a key both sides still hold is never lost: if each side deleted the copy
 *   the other kept (duplicates), `hooks.winner`'s copies stay.
 *
 * Repeated keys are paired by `numberOccurrences`. The result follows
 * local's order, with remote-only values placed after the value that precedes
 * them in remote.
 */
export function threeWay<T>(
  base: readonly Keyed<T>[] | null,
  local: readonly Keyed<T>[],
  remote: readonly Keyed<T>[],
  hooks: ThreeWayHooks<T>,
): T[] {
  const [nb, nl, nr] = numberOccurrences(base ?? [], local, remote, hooks.same);
  const b = toMap(nb);
  const l = toMap(nl);
  const r = toMap(nr);
  const kept = new Map<string, T>();
  for (const key of new Set([...l.keys(), ...r.keys()])) {
    const value = decide(b.get(key), l.get(key), r.get(key), hooks);
    if (value !== undefined) kept.set(key, value);
  }
  rescueCrossDeletes(nl, nr, b, kept, hooks);
  return interleave([...l.keys()], [...r.keys()], kept).map((key) => kept.get(key) as T);
}

// Base {A, A'} under one key, local deleted A, remote deleted A': each copy was
// deleted by one side and left alone by the other, yet both sides still hold
// the key (the same phone number), so it must not vanish.
function rescueCrossDeletes<T>(
  local: readonly Numbered<T>[],
  remote: readonly Numbered<T>[],
  base: ReadonlyMap<string, T>,
  kept: Map<string, T>,
  hooks: ThreeWayHooks<T>,
): void {
  const survived = new Set([...local, ...remote].filter((entry) => kept.has(entry.key)).map((entry) => entry.identity));
  const inLocal = new Set(local.map((entry) => entry.identity));
  const bothHold = new Set(remote.filter((entry) => inLocal.has(entry.identity)).map((entry) => entry.identity));
  for (const entry of hooks.winner === 'local' ? local : remote) {
    const baseValue = base.get(entry.key);
    if (!bothHold.has(entry.identity) || survived.has(entry.identity) || baseValue === undefined) continue;
    hooks.editOverDelete(entry.value, hooks.winner, baseValue);
    kept.set(entry.key, entry.value);
  }
}

function toMap<T>(list: readonly Numbered<T>[]): Map<string, T> {
  return new Map(list.map((entry) => [entry.key, entry.value]));
}

function decide<T>(b: T | undefined, l: T | undefined, r: T | undefined, hooks: ThreeWayHooks<T>): T | undefined {
  if (l !== undefined && r !== undefined) {
    if (hooks.same(l, r)) return r;
    if (b !== undefined && hooks.same(b, l)) return r;
    if (b !== undefined && hooks.same(b, r)) return l;
    return hooks.bothChanged(b, l, r);
  }
  const [present, side] = l !== undefined ? [l, 'local' as const] : [r, 'remote' as const];
  if (present === undefined) return undefined;
  if (b === undefined) return present;
  if (hooks.same(b, present)) return undefined;
  hooks.editOverDelete(present, side, b);
  return present;
}

function interleave(local: string[], remote: string[], kept: ReadonlyMap<string, unknown>): string[] {
  const out = local.filter((key) => kept.has(key));
  const placed = new Set(out);
  let anchor = -1;
  for (const key of remote) {
    if (!kept.has(key)) continue;
    if (placed.has(key)) {
      anchor = out.indexOf(key);
      continue;
    }
    anchor++;
    out.splice(anchor, 0, key);
    placed.add(key);
  }
  return out;
}
