import type { Keyed } from './three-way.js';

/** A value with its key made unique (`identity#n`) and the identity it had. */
export interface Numbered<T> {
  readonly key: string;
  readonly identity: string;
  readonly value: T;
}

/**
 * Makes repeated keys unique (`key#0`, `key#1`…) so that repeats are paired
 * across base, local and remote by content before position. A contact may
 * hold the same number twice with different types; if one side deletes one
 * of them, the other copy must still pair with its unchanged base copy, or
 * it would look edited and survive a delete it should not.
 *
 * For each key: base copies are numbered in order; each side's copies take
 * the number of an equal base copy first, then the remaining base numbers in
 * order (an edit of that copy), then fresh numbers, which local and remote
 * additions share the same way (equal first, then in order).
 */
export function numberOccurrences<T>(
  base: readonly Keyed<T>[],
  local: readonly Keyed<T>[],
  remote: readonly Keyed<T>[],
  same: (a: T, b: T) => boolean,
): [Numbered<T>[], Numbered<T>[], Numbered<T>[]] {
  const b = base.map((entry) => entry.key);
  const l = local.map((entry) => entry.key);
  const r = remote.map((entry) => entry.key);
  const groups = (list: readonly Keyed<T>[]) => {
    const map = new Map<string, number[]>();
    for (const [i, entry] of list.entries()) {
      const at = map.get(entry.key);
      if (at) at.push(i);
      else map.set(entry.key, [i]);
    }
    return map;
  };
  const [gb, gl, gr] = [groups(base), groups(local), groups(remote)];
  for (const key of new Set([...gb.keys(), ...gl.keys(), ...gr.keys()])) {
    const bi = gb.get(key) ?? [];
    const li = gl.get(key) ?? [];
    const ri = gr.get(key) ?? [];
    const values = (list: readonly Keyed<T>[], at: number[]) => at.map((i) => (list[i] as Keyed<T>).value);
    const baseValues = values(base, bi);
    const lSlots = pair(baseValues, values(local, li), same);
    const rSlots = pair(baseValues, values(remote, ri), same);
    const lRest = li.filter((_i, j) => lSlots[j] === -1);
    const rRest = ri.filter((_i, j) => rSlots[j] === -1);
    const restSlots = pair(values(local, lRest), values(remote, rRest), same);
    bi.forEach((i, n) => {
      b[i] = `${key}#${n}`;
    });
    let fresh = bi.length;
    const lFresh = new Map<number, number>();
    li.forEach((i, j) => {
      let n = lSlots[j] ?? -1;
      if (n === -1) {
        n = fresh++;
        lFresh.set(lRest.indexOf(i), n);
      }
      l[i] = `${key}#${n}`;
    });
    ri.forEach((i, j) => {
      let n = rSlots[j] ?? -1;
      if (n === -1) {
        const partner = restSlots[rRest.indexOf(i)] ?? -1;
        n = partner === -1 ? fresh++ : (lFresh.get(partner) as number);
      }
      r[i] = `${key}#${n}`;
    });
  }
  const rekey = (list: readonly Keyed<T>[], keys: string[]) =>
    list.map((entry, i) => ({ key: keys[i] as string, identity: entry.key, value: entry.value }));
  return [rekey(base, b), rekey(local, l), rekey(remote, r)];
}

/** For each item, the index of the target it pairs with (-1: none): equal ones first, then the rest in order. */
function pair<T>(targets: readonly T[], items: readonly T[], same: (a: T, b: T) => boolean): number[] {
  const taken = new Set<number>();
  const slots = items.map((item) => {
    const match = targets.findIndex((target, t) => !taken.has(t) && same(target, item));
    if (match !== -1) taken.add(match);
    return match;
  });
  const free = targets.map((_t, t) => t).filter((t) => !taken.has(t));
  return slots.map((slot) => (slot !== -1 ? slot : (free.shift() ?? -1)));
}
