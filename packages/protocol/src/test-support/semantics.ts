import { type ContentComponent, type ContentFormat, type ContentLine, parseContent } from '../merge/content-tree.js';
import { splitEscaped } from '../merge/normalize-value.js';
import { canonicalLine } from '../merge/property-entry.js';
import type { PropertyRules } from '../merge/property-rules.js';

/**
 * What a text means, as a sorted multiset of strings: every line (list
 * values such as CATEGORIES one item at a time) prefixed with the chain of
 * components it sits in, and each vCard group as one unit, so a label counts
 * only next to the number it labels. Group names and line order do not count.
 */
export function meaningUnits(text: string, format: ContentFormat, rules: PropertyRules): string[] {
  const units: string[] = [];
  const walk = (component: ContentComponent, path: string) => {
    const here = `${path}/${rules.componentIdentity(component)}`;
    const groups = new Map<string, string[]>();
    for (const line of component.lines) {
      if (line.group !== null) {
        groups.set(line.group, [...(groups.get(line.group) ?? []), canonicalLine(line)]);
      } else {
        for (const unit of lineUnits(line, rules)) units.push(`${here} ${unit}`);
      }
    }
    for (const members of groups.values()) units.push(`${here} group(${members.sort().join(' & ')})`);
    for (const child of component.children) walk(child, here);
  };
  walk(parseContent(text, format), '');
  return units.sort();
}

function lineUnits(line: ContentLine, rules: PropertyRules): string[] {
  if (!rules.listValued.has(line.name)) return [canonicalLine(line)];
  return splitEscaped(line.value, ',').map((item) => canonicalLine({ ...line, value: item }));
}

/** The items of `part` missing from `whole`, counting repeats. */
export function missingFrom(whole: readonly string[], part: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const unit of whole) counts.set(unit, (counts.get(unit) ?? 0) + 1);
  const missing: string[] = [];
  for (const unit of part) {
    const n = counts.get(unit) ?? 0;
    if (n === 0) missing.push(unit);
    else counts.set(unit, n - 1);
  }
  return missing;
}

/**
 * The value text of every unfolded content line, read without ical.js: the
 * text after the first colon outside double quotes. BEGIN/END lines and the
 * lines of `skip` properties are left out.
 */
export function lexicalValues(text: string, skip: ReadonlySet<string> = new Set()): string[] {
  const values: string[] = [];
  // A CR inside a line is content (Thunderbird writes them); CR-only files end lines with CR.
  const lines = text.includes('\n') ? text.replace(/\r*\n/g, '\n') : text.replace(/\r+/g, '\n');
  const unfolded = lines.replace(/\n[ \t]/g, '');
  for (const line of unfolded.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || /^(begin|end):/i.test(trimmed)) continue;
    const colon = firstUnquotedColon(line);
    const name = line.slice(0, colon).split(';')[0]?.split('.').pop()?.toLowerCase() ?? '';
    if (!skip.has(name)) values.push(line.slice(colon + 1));
  }
  return values.sort();
}

function firstUnquotedColon(line: string): number {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === ':' && !quoted) return i;
  }
  return line.length;
}
