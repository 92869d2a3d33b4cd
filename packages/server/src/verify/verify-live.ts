import type { CollectionType } from '@holdfast/protocol';
import { canonicalJson } from '@holdfast/protocol';
import type { Bundle } from '../bundle/bundle-reader.js';
import type { Manifest } from '../bundle/manifest.js';
import {
  describeProperty,
  diffProperties,
  type SemanticComponent,
  type SemanticProperty,
  semanticComponents,
} from '../content/semantic.js';
import { collectionCandidates } from '../import/bundle-import.js';
import { createSlicer } from '../slices.js';
import type { Finding } from './verify-bundle.js';

/** An item as the account has it now. */
export interface LiveItem {
  id: string;
  revision: number;
  /** What a push would send: vCard/iCalendar text, or the JSON object. */
  content: unknown;
  blobSha256: string | null;
}

/** Where the live account is read from: the database directly, or the HTTP API. */
export interface LiveSource {
  describe: string;
  collections(): Promise<{ id: string; type: CollectionType; name: string }[]>;
  items(collectionId: string): AsyncIterable<LiveItem>;
}

/**
 * Compares a bundle with the live account item by item: items missing from
 * the account, items it has that the bundle lacks, and for items in both
 * every property (contacts, events, tasks) or field (notes, photos,
 * messages) that is missing, added or changed. One collection's live items
 * are held at a time.
 */
export async function compareWithLive(bundle: Bundle, manifest: Manifest, live: LiveSource): Promise<Finding[]> {
  const pause = createSlicer();
  const findings: Finding[] = [];
  const liveCollections = new Map((await live.collections()).map((c) => [c.id, c]));
  for (const collection of manifest.collections) {
    const where = `${collection.type} "${collection.name}"`;
    if (!liveCollections.has(collection.id)) {
      findings.push({
        where,
        message: `the account has no collection ${collection.id} (${collection.items.length} items)`,
      });
      continue;
    }
    liveCollections.delete(collection.id);
    const liveItems = new Map<string, LiveItem>();
    for await (const item of live.items(collection.id)) liveItems.set(item.id, item);
    const revisions = new Map(collection.items.map((i) => [i.id, i.revision]));
    // A card converted for the export (`--vcard 3`) says the same as the stored one, VERSION aside (section 5).
    const converted = new Set(collection.items.filter((i) => i.originalVersion !== undefined).map((i) => i.id));
    for await (const part of collectionCandidates(null, bundle, collection)) {
      await pause();
      if (part.kind === 'problem' || !part.itemId) continue; // the bundle check reports these
      const now = liveItems.get(part.itemId);
      const label = `${where} item ${part.itemId}${describeItem(collection.type, part.content)}`;
      if (!now) {
        findings.push({ where: label, message: 'missing from the account' });
        continue;
      }
      liveItems.delete(part.itemId);
      const differences = compareContent(
        collection.type,
        part.content,
        now.content,
        part.blob?.sha256 ?? null,
        now.blobSha256,
        { ignoreVersion: converted.has(part.itemId) },
      );
      if (differences.length === 0) continue;
      const exported = revisions.get(part.itemId) ?? 0;
      const when =
        now.revision === exported ? `at the same revision ${exported}` : `revision ${exported} → ${now.revision}`;
      for (const difference of differences) findings.push({ where: `${label} (${when})`, message: difference });
    }
    for (const extra of liveItems.values()) {
      const after = extra.revision > manifest.revision ? ' (written after the export)' : '';
      findings.push({
        where: `${where} item ${extra.id}${describeItem(collection.type, extra.content)}`,
        message: `in the account but not in the export${after}`,
      });
    }
  }
  for (const extra of liveCollections.values()) {
    findings.push({
      where: `${extra.type} "${extra.name}"`,
      message: `collection ${extra.id} is in the account but not in the export`,
    });
  }
  return findings;
}

/** What differs between the exported and the live content, one line each. */
export function compareContent(
  type: CollectionType,
  exported: unknown,
  live: unknown,
  exportedBlob: string | null,
  liveBlob: string | null,
  options: { ignoreVersion?: boolean } = {},
): string[] {
  if (type === 'contacts' || type === 'calendar' || type === 'tasks') {
    if (exported === live) return [];
    const read = (text: unknown) =>
      flatten(String(text)).filter((p) => !(options.ignoreVersion && p.name === 'VERSION' && p.group === ''));
    try {
      const { missing, added } = diffProperties(read(exported), read(live));
      return [
        ...missing.map((p) => `missing in the account: ${describeProperty(p)}`),
        ...added.map((p) => `only in the account: ${describeProperty(p)}`),
      ];
    } catch (error) {
      return [`content differs (and cannot be compared property by property: ${(error as Error).message})`];
    }
  }
  const out: string[] = [];
  if (exportedBlob !== liveBlob) out.push(`blob ${exportedBlob} in the export, ${liveBlob} in the account`);
  const a = (exported ?? {}) as Record<string, unknown>;
  const b = (live ?? {}) as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (canonicalJson(a[key]) !== canonicalJson(b[key])) out.push(`field ${key} differs`);
  }
  return out;
}

/**
 * Every property of a vCard or calendar object with the path of the
 * component it is in as its group (`VEVENT[20240101T090000Z]/VALARM`), so
 * that properties of an override are not confused with the master's.
 */
export function flatten(text: string): SemanticProperty[] {
  const out: SemanticProperty[] = [];
  const walk = (component: SemanticComponent, path: string) => {
    for (const p of component.properties)
      out.push({ ...p, group: path && p.group ? `${path}:${p.group}` : path || p.group });
    for (const child of component.components) walk(child, `${path}/${child.name}${discriminator(child)}`);
  };
  // A card's properties keep their own groups (item1.TEL); a calendar's are named by the component they sit in.
  for (const top of semanticComponents(text)) walk(top, top.name === 'VCARD' ? '' : top.name);
  return out;
}

function discriminator(component: SemanticComponent): string {
  const key = component.properties.find((p) => p.name === 'RECURRENCE-ID' || p.name === 'TZID');
  return key ? `[${key.value.join(';')}]` : '';
}

/** A short human label for an item: its FN or SUMMARY, or a note's title. */
function describeItem(type: CollectionType, content: unknown): string {
  let label: string | undefined;
  if (typeof content === 'string') {
    const name = type === 'contacts' ? 'FN' : 'SUMMARY';
    label = new RegExp(`^${name}(?:;[^:\\r\\n]*)?:(.*)$`, 'im').exec(content)?.[1]?.trim();
  } else if (content && typeof content === 'object') {
    const fields = content as { title?: unknown; filename?: unknown; thread?: unknown };
    const value = fields.title ?? fields.filename ?? fields.thread;
    label = typeof value === 'string' ? value : undefined;
  }
  return label ? ` (${label.length > 40 ? `${label.slice(0, 40)}…` : label})` : '';
}
