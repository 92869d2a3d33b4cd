import type { ContentLine } from './content-tree.js';
import { splitEscaped } from './normalize-value.js';
import type { PropertyRules } from './property-rules.js';
import type { Keyed } from './three-way.js';

/**
 * The unit the merge keeps, replaces or drops:
 * - `single`: every ungrouped line of a single-valued property (FN, N, …);
 * - `member`: one line of a multi-valued property (one TEL);
 * - `item`: one item of a comma-list property (one CATEGORIES value);
 * - `group`: all lines sharing a vCard group, so `item1.X-ABLabel` stays
 *   with `item1.TEL`.
 */
export interface PropertyEntry {
  readonly kind: 'single' | 'member' | 'item' | 'group';
  readonly lines: readonly ContentLine[];
  /** Equal for entries that mean the same thing, whatever their group names. */
  readonly canonical: string;
  /** Upper-case name reported in conflicts. */
  readonly property: string;
  /** The normalised identity reported in conflicts; null for single-valued entries. */
  readonly identity: string | null;
}

interface Draft {
  kind: PropertyEntry['kind'];
  lines: ContentLine[];
}

/**
 * Splits a component's lines into keyed entries in document order. Keys are
 * the property name and normalised value (`tel:+15550100`); a group is keyed
 * by its non-label members, so a number keeps its identity whether or not a
 * client grouped it with a label. Duplicates keep the same key and are
 * paired by `numberOccurrences`, so they are kept, not collapsed.
 */
export function entriesOf(lines: readonly ContentLine[], rules: PropertyRules): Keyed<PropertyEntry>[] {
  const drafts = new Map<string, Draft>();
  let unique = 0;
  for (const line of lines) {
    if (line.group !== null) {
      draft(drafts, `group ${line.group}`, 'group').lines.push(line);
    } else if (rules.single.has(line.name)) {
      draft(drafts, `single ${line.name}`, 'single').lines.push(line);
    } else if (rules.listValued.has(line.name)) {
      for (const item of splitEscaped(line.value, ',')) {
        drafts.set(`item ${unique++}`, { kind: 'item', lines: [{ ...line, value: item }] });
      }
    } else {
      drafts.set(`member ${unique++}`, { kind: 'member', lines: [line] });
    }
  }
  return [...drafts.values()].map(({ kind, lines: entryLines }) => {
    const entry = toEntry(kind, entryLines, rules);
    const key = kind === 'single' ? `single:${entry.property}` : `value:${identityKey(entryLines, rules)}`;
    return { key, value: entry };
  });
}

function draft(drafts: Map<string, Draft>, id: string, kind: Draft['kind']): Draft {
  let found = drafts.get(id);
  if (!found) {
    found = { kind, lines: [] };
    drafts.set(id, found);
  }
  return found;
}

function primaries(lines: readonly ContentLine[], rules: PropertyRules): readonly ContentLine[] {
  const own = lines.filter((line) => !rules.companions.has(line.name));
  return own.length > 0 ? own : lines;
}

function identityKey(lines: readonly ContentLine[], rules: PropertyRules): string {
  return primaries(lines, rules)
    .map((line) => `${line.name}:${rules.identity(line)}`)
    .sort()
    .join('|');
}

function toEntry(kind: PropertyEntry['kind'], lines: readonly ContentLine[], rules: PropertyRules): PropertyEntry {
  const main = primaries(lines, rules);
  const first = main[0] as ContentLine;
  return {
    kind,
    lines,
    canonical: lines.map(canonicalLine).sort().join('\n'),
    property: first.name.toUpperCase(),
    identity: kind === 'single' ? null : main.map((line) => rules.identity(line)).join(' | '),
  };
}

/** A line's meaning without its group name: name, sorted parameters, type, value. */
export function canonicalLine(line: ContentLine): string {
  const params = Object.keys(line.params)
    .sort()
    .map((key) => {
      const value = line.params[key] ?? '';
      return `${key}=${(typeof value === 'string' ? [value] : [...value]).sort().join(',')}`;
    });
  return `${line.name};${params.join(';')};${line.valueType}:${line.value}`;
}

/**
 * Turns the kept entries back into lines. Groups from the two sides may share
 * a name (`item1` on both phones, different numbers), so a group whose name is
 * already used is renamed to a free `itemN`; its members move together.
 * Consecutive list items with the same parameters are joined into one line
 * again. VERSION goes first, as vCard 4 requires.
 */
export function emitEntries(entries: readonly PropertyEntry[]): ContentLine[] {
  const wanted = new Set(entries.flatMap((entry) => (entry.kind === 'group' ? [entry.lines[0]?.group] : [])));
  const taken = new Set<string>();
  let fresh = 1;
  const out: ContentLine[] = [];
  let lastItem = -1;
  for (const entry of entries) {
    if (entry.kind === 'group') {
      let group = entry.lines[0]?.group ?? 'item';
      if (taken.has(group)) {
        do group = `item${fresh++}`;
        while (taken.has(group) || wanted.has(group));
      }
      taken.add(group);
      out.push(...entry.lines.map((line) => ({ ...line, group })));
      continue;
    }
    const line = entry.lines[0];
    const previous = out[out.length - 1];
    if (entry.kind === 'item' && line && previous && lastItem === out.length - 1 && joinable(previous, line)) {
      out[out.length - 1] = { ...previous, value: `${previous.value},${line.value}` };
      continue;
    }
    out.push(...entry.lines);
    if (entry.kind === 'item') lastItem = out.length - 1;
  }
  return [...out.filter((line) => line.name === 'version'), ...out.filter((line) => line.name !== 'version')];
}

function joinable(a: ContentLine, b: ContentLine): boolean {
  return (
    a.group === null && b.group === null && canonicalLine({ ...a, value: '' }) === canonicalLine({ ...b, value: '' })
  );
}
