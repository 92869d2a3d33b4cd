import { AppError } from '../errors.js';
import { canonicalComponent, mergeComponent } from './component-merge.js';
import { type ContentComponent, type ContentFormat, emitContent, parseContent } from './content-tree.js';
import type { MergeConflict, MergeOptions, MergeResult } from './merge-result.js';
import { canonicalLine } from './property-entry.js';
import type { PropertyRules } from './property-rules.js';

/**
 * The merge both formats share. When one side carries every change (the other
 * equals base, or both sides mean the same), that side's text is returned
 * unchanged, byte for byte. Otherwise the merged object is written out and
 * read back, and it must read back as exactly what was merged.
 */
export function mergeDocument(
  format: ContentFormat,
  rules: PropertyRules,
  baseText: string | null,
  localText: string,
  remoteText: string,
  options: MergeOptions,
): MergeResult {
  const base = baseText === null ? null : parseContent(baseText, format);
  const local = parseContent(localText, format);
  const remote = parseContent(remoteText, format);
  const canonical = {
    base: base && canonicalComponent(base, rules),
    local: canonicalComponent(local, rules),
    remote: canonicalComponent(remote, rules),
  };
  if (canonical.local === canonical.remote || canonical.local === canonical.base) {
    return { merged: remoteText, conflicts: [] };
  }
  if (canonical.remote === canonical.base) return { merged: localText, conflicts: [] };

  const conflicts: MergeConflict[] = [];
  const winner = (options.localTime ?? Number.NaN) > (options.remoteTime ?? Number.NaN) ? 'local' : 'remote';
  const merged = mergeComponent(base, local, remote, { rules, winner, conflicts, path: [] });
  const text = emitContent(merged);
  if (exactForm(parseContent(text, format)) !== exactForm(merged)) {
    throw new AppError('internal', `The merged ${format} does not read back as merged.`, { format });
  }
  return { merged: text, conflicts };
}

function exactForm(component: ContentComponent): string {
  return JSON.stringify([
    component.name,
    component.lines.map((line) => [line.group, canonicalLine(line)]),
    component.children.map(exactForm),
  ]);
}
