import { type ContentComponent, emitContent, emitLine } from './content-tree.js';
import type { ComponentRef, MergeConflict, MergeSide } from './merge-result.js';
import { emitEntries, entriesOf, type PropertyEntry } from './property-entry.js';
import type { PropertyRules } from './property-rules.js';
import { type Keyed, type ThreeWayHooks, threeWay } from './three-way.js';

/** What one merge call shares across the components it walks. */
export interface MergeContext {
  readonly rules: PropertyRules;
  /** The side whose write is later; it wins fields both sides changed. */
  readonly winner: MergeSide;
  readonly conflicts: MergeConflict[];
  readonly path: readonly ComponentRef[];
}

/**
 * Merges one component: its lines entry by entry (see `entriesOf`), then its
 * nested components matched by identity (UID and RECURRENCE-ID for events, so
 * each overridden occurrence merges on its own). A nested component both
 * sides changed is merged recursively, except atomic ones (VTIMEZONE), which
 * go to the later writer whole.
 */
export function mergeComponent(
  base: ContentComponent | null,
  local: ContentComponent,
  remote: ContentComponent,
  ctx: MergeContext,
): ContentComponent {
  const entries = threeWay(
    base && entriesOf(base.lines, ctx.rules),
    entriesOf(local.lines, ctx.rules),
    entriesOf(remote.lines, ctx.rules),
    entryHooks(ctx),
  );
  const children = threeWay(
    base && keyedChildren(base, ctx.rules),
    keyedChildren(local, ctx.rules),
    keyedChildren(remote, ctx.rules),
    componentHooks(ctx),
  );
  return { name: local.name, lines: emitEntries(entries), children };
}

/**
 * A component's meaning, independent of line order, group names and how list
 * items are spread over lines: two components with the same canonical form
 * are the same contact or event.
 */
export function canonicalComponent(component: ContentComponent, rules: PropertyRules): string {
  const lines = entriesOf(component.lines, rules)
    .map((entry) => entry.value.canonical)
    .sort();
  const children = component.children.map((child) => canonicalComponent(child, rules)).sort();
  return JSON.stringify([component.name, lines, children]);
}

function entryHooks(ctx: MergeContext): ThreeWayHooks<PropertyEntry> {
  const mode = (entry: PropertyEntry) =>
    entry.kind === 'single' ? (ctx.rules.single.get(entry.property.toLowerCase()) ?? 'conflict') : 'conflict';
  return {
    winner: ctx.winner,
    same: (a, b) => a.canonical === b.canonical,
    bothChanged(_base, local, remote) {
      const kind = mode(local);
      if (kind === 'max') return larger(local, remote, ctx.winner);
      const [winning, losing] = ctx.winner === 'local' ? [local, remote] : [remote, local];
      if (kind === 'conflict') record(ctx, winning, 'concurrent_edit', entryText(winning), entryText(losing));
      return winning;
    },
    editOverDelete(edited, side) {
      if (mode(edited) === 'conflict') record(ctx, edited, 'edit_over_delete', entryText(edited), null, side);
    },
  };
}

function record(
  ctx: MergeContext,
  entry: PropertyEntry,
  kind: MergeConflict['kind'],
  winningValue: string,
  losingValue: string | null,
  winner: MergeSide = ctx.winner,
): void {
  ctx.conflicts.push({
    path: [...ctx.path],
    property: entry.property,
    group: entry.lines[0]?.group ?? null,
    key: entry.identity,
    kind,
    winner,
    winningValue,
    losingValue,
  });
}

function entryText(entry: PropertyEntry): string {
  return entry.lines.map(emitLine).join('\r\n');
}

// SEQUENCE: the larger number, so attendees' clients accept the result.
function larger(local: PropertyEntry, remote: PropertyEntry, winner: MergeSide): PropertyEntry {
  const l = Number.parseInt(local.lines[0]?.value ?? '', 10);
  const r = Number.parseInt(remote.lines[0]?.value ?? '', 10);
  if (l > r) return local;
  if (r > l) return remote;
  return winner === 'local' ? local : remote;
}

function keyedChildren(component: ContentComponent, rules: PropertyRules): Keyed<ContentComponent>[] {
  return component.children.map((child) => ({ key: rules.componentIdentity(child), value: child }));
}

function componentHooks(ctx: MergeContext): ThreeWayHooks<ContentComponent> {
  const canonical = memoize((component: ContentComponent) => canonicalComponent(component, ctx.rules));
  return {
    winner: ctx.winner,
    same: (a, b) => canonical(a) === canonical(b),
    bothChanged(base, local, remote) {
      if (!ctx.rules.atomicComponents.has(local.name)) {
        return mergeComponent(base ?? null, local, remote, { ...ctx, path: [...ctx.path, refOf(local)] });
      }
      const [winning, losing] = ctx.winner === 'local' ? [local, remote] : [remote, local];
      recordComponent(ctx, winning, 'concurrent_edit', ctx.winner, emitContent(losing));
      return winning;
    },
    editOverDelete(edited, side) {
      recordComponent(ctx, edited, 'edit_over_delete', side, null);
    },
  };
}

function recordComponent(
  ctx: MergeContext,
  component: ContentComponent,
  kind: MergeConflict['kind'],
  winner: MergeSide,
  losingValue: string | null,
): void {
  ctx.conflicts.push({
    path: [...ctx.path, refOf(component)],
    property: null,
    group: null,
    key: null,
    kind,
    winner,
    winningValue: emitContent(component),
    losingValue,
  });
}

function refOf(component: ContentComponent): ComponentRef {
  const value = (name: string) => component.lines.find((line) => line.name === name && line.group === null);
  return {
    name: component.name.toUpperCase(),
    uid: value('uid')?.value ?? value('tzid')?.value ?? null,
    recurrenceId: value('recurrence-id')?.value ?? null,
  };
}

function memoize<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const cache = new WeakMap<K, V>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}
