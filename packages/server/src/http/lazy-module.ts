/**
 * A loader for a feature's module that imports it on first use, not at start: what most servers rarely or never
 * run (the operators' pages and reports, restores, re-seeds, the portal's contact search, app passwords and
 * account safety) should cost no start time or memory until asked for. The promise is kept, so later calls
 * only wait for the module already loaded.
 */
export function lazyModule<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}
