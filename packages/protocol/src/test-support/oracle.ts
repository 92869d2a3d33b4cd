/**
 * The no-loss rule, stated without the merge's code: for one kind of value,
 * each side maps a normalised key to the full entries it holds for that key
 * (everything a user could have edited: value as written, type, label…).
 */
export type Holdings = Map<string, string[]>;

/** Adds one entry under `key`. */
export function hold(holdings: Holdings, key: string, entry: string): void {
  holdings.set(key, [...(holdings.get(key) ?? []), entry]);
}

/** Every entry of `side` also in `base` (as multisets): the side added and changed nothing under this key. */
function untouched(side: readonly string[] | undefined, base: readonly string[]): boolean {
  const rest = [...base];
  for (const entry of side ?? []) {
    const i = rest.indexOf(entry);
    if (i === -1) return false;
    rest.splice(i, 1);
  }
  return true;
}

/**
 * The keys a merge must keep: every key either side holds, unless it was
 * explicitly deleted: base held it, one side no longer does, and the other
 * side did not add or change anything under it.
 */
export function requiredKeys(base: Holdings, local: Holdings, remote: Holdings): string[] {
  const deleted = new Set(deletedKeys(base, local, remote));
  return [...new Set([...local.keys(), ...remote.keys()])].filter((key) => !deleted.has(key));
}

/** The keys a merge must drop: base held them, and one side removed them while the other left them alone. */
export function deletedKeys(base: Holdings, local: Holdings, remote: Holdings): string[] {
  return [...base.entries()]
    .filter(
      ([key, b]) =>
        (!local.has(key) && untouched(remote.get(key), b)) || (!remote.has(key) && untouched(local.get(key), b)),
    )
    .map(([key]) => key);
}
