import { createHash, hash } from 'node:crypto';
import { type Bundle, sliceStream } from '../bundle/bundle-reader.js';
import { addCounts, calendarFields, contactFields, diffCounts, type FieldCounts } from '../bundle/field-counts.js';
import type { Manifest, ManifestCollection, ManifestItem } from '../bundle/manifest.js';
import { pushTo } from '../bundle/multimap.js';
import { readVcardFile } from '../bundle/vcard-file.js';
import { rebuildCalendarItem } from '../export/export-calendars.js';
import { parseNote } from '../export/export-notes.js';
import { fileZones } from '../import/bundle-import.js';
import { createSlicer } from '../slices.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One thing wrong, and where. */
export interface Finding {
  where: string;
  message: string;
}

/**
 * Checks a bundle against its own manifest (docs/export-format.md, "Verify
 * rules"): every listed file is there with its hash and size and nothing
 * else is; every item's bytes hash to the manifest's SHA-256; the item
 * slices are exactly the cards (or components, or messages) of their file;
 * item counts and field counts recomputed from the bytes equal the
 * manifest's, per item, per collection and in total.
 */
export async function checkBundle(bundle: Bundle, manifest: Manifest): Promise<{ findings: Finding[]; items: number }> {
  const findings: Finding[] = [];
  const hashed = await checkFiles(bundle, manifest, findings);
  const totals: FieldCounts = {};
  let items = 0;
  for (const collection of manifest.collections) {
    const where = `${collection.type} "${collection.name}" (${collection.path})`;
    if (collection.itemCount !== collection.items.length) {
      findings.push({
        where,
        message: `itemCount ${collection.itemCount} but ${collection.items.length} items listed`,
      });
    }
    const fields = await checkCollection(bundle, collection, findings, hashed);
    items += collection.items.length;
    for (const d of diffCounts(collection.fields, fields)) {
      findings.push({ where, message: `field count ${d.field}: manifest ${d.expected}, bundle ${d.actual}` });
    }
    addCounts(totals, Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${collection.type}.${k}`, v])));
  }
  for (const d of diffCounts(manifest.totals, totals)) {
    findings.push({ where: 'manifest totals', message: `${d.field}: manifest ${d.expected}, bundle ${d.actual}` });
  }
  for (const p of manifest.problems) {
    findings.push({
      where: `collection ${p.collectionId}${p.itemId ? ` item ${p.itemId}` : ''}`,
      message: `not exported: ${p.problem}`,
    });
  }
  return { findings, items };
}

/** Checks every listed file's hash and size; returns the SHA-256 each file read had, by path. */
async function checkFiles(bundle: Bundle, manifest: Manifest, findings: Finding[]): Promise<Map<string, string>> {
  const hashed = new Map<string, string>();
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const name of bundle.entries.keys()) {
    if (name !== 'manifest.json' && !listed.has(name))
      findings.push({ where: name, message: 'in the ZIP but not in the manifest' });
  }
  for (const file of manifest.files) {
    if (!bundle.entries.has(file.path)) {
      findings.push({ where: file.path, message: 'listed in the manifest but missing from the ZIP' });
      continue;
    }
    const hasher = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of await bundle.open(file.path)) {
        hasher.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
    } catch (error) {
      findings.push({ where: file.path, message: `unreadable: ${(error as Error).message}` });
      continue;
    }
    const sha256 = hasher.digest('hex');
    hashed.set(file.path, sha256);
    if (sha256 !== file.sha256 || bytes !== file.bytes) {
      findings.push({
        where: file.path,
        message: `SHA-256 ${sha256} (${bytes} bytes), manifest says ${file.sha256} (${file.bytes} bytes)`,
      });
    }
  }
  return hashed;
}

async function checkCollection(
  bundle: Bundle,
  collection: ManifestCollection,
  findings: Finding[],
  hashed: Map<string, string>,
): Promise<FieldCounts> {
  const fields: FieldCounts = { items: collection.items.length };
  const fileSha = new Map<string, string>();
  switch (collection.type) {
    case 'contacts':
      await checkSlices(bundle, collection, findings, fields, (text, item) => {
        for (const head of misleadingCharsets(text)) {
          findings.push({
            where: `${collection.path} item ${item.id}`,
            message: `${head}: a CHARSET other than UTF-8 on a value that is not QUOTED-PRINTABLE, in a UTF-8 file`,
          });
        }
        return contactFields(text);
      });
      await checkCards(bundle, collection, findings);
      break;
    case 'calendar':
    case 'tasks': {
      const zones = await fileZones(bundle, collection);
      if (zones.size > 0) fields.timezones = zones.size;
      checkTiling(bundle, collection.path, collection.items, 0, 'END:VCALENDAR\r\n'.length, findings);
      await checkSlices(bundle, collection, findings, fields, (slice, item) =>
        calendarFields(rebuildCalendarItem(collection.sharedHead ?? [], item, zones, slice)),
      );
      break;
    }
    case 'notes':
      for (const item of collection.items) {
        const bytes = await readItemFile(bundle, item, findings);
        if (!bytes) continue;
        let note: ReturnType<typeof parseNote>;
        try {
          note = parseNote(bytes.toString('utf8'));
        } catch (error) {
          findings.push({ where: item.path ?? '', message: (error as Error).message });
          continue;
        }
        if (note.front.id !== item.id)
          findings.push({ where: item.path ?? '', message: `front matter id ${note.front.id}, manifest ${item.id}` });
        fields.bytes = (fields.bytes ?? 0) + Buffer.byteLength(note.body, 'utf8');
      }
      break;
    case 'photos':
      for (const item of collection.items) {
        if (!(await readItemFile(bundle, item, findings)) || !item.blob) continue;
        fields.bytes = (fields.bytes ?? 0) + item.blob.size;
        fileSha.set(item.blob.path, item.blob.sha256);
      }
      break;
    case 'messages': {
      const threads = new Map<string, ManifestItem[]>();
      for (const item of collection.items) pushTo(threads, item.path ?? '', item);
      fields.threads = threads.size;
      for (const [thread, items] of threads) checkTiling(bundle, thread, items, ',\n'.length, '\n]\n'.length, findings);
      let attachments = 0;
      await checkSlices(bundle, collection, findings, fields, (text) => {
        const content = (JSON.parse(text) as { content?: { attachments?: { sha256: string }[] } }).content;
        for (const a of content?.attachments ?? []) {
          attachments++;
          fileSha.set(`messages/attachments/${a.sha256}`, a.sha256);
        }
        return {};
      });
      if (attachments > 0) fields.attachments = attachments;
      break;
    }
  }
  for (const [path, sha] of fileSha) {
    const entry = bundle.entries.get(path);
    if (!entry) findings.push({ where: path, message: 'referenced by an item but missing from the ZIP' });
    // A photo or attachment was hashed already with every listed file; read again only one the manifest left out.
    else if ((hashed.get(path) ?? (await hashOf(bundle, path))) !== sha)
      findings.push({ where: path, message: `does not hash to ${sha}` });
  }
  return fields;
}

/** Hashes each item's slice of its file, and adds up the field counts of its text. */
async function checkSlices(
  bundle: Bundle,
  collection: ManifestCollection,
  findings: Finding[],
  fields: FieldCounts,
  count: (text: string, item: ManifestItem) => FieldCounts,
): Promise<void> {
  const pause = createSlicer();
  const byFile = new Map<string, ManifestItem[]>();
  for (const item of collection.items) {
    const path = item.path ?? collection.path;
    pushTo(byFile, path, item);
  }
  for (const [path, items] of byFile) {
    if (!bundle.entries.has(path)) continue; // reported by checkFiles
    const ranges = items.map((item) => ({ item, offset: item.offset ?? 0, length: item.length ?? 0 }));
    ranges.sort((a, b) => a.offset - b.offset);
    for await (const { range, bytes } of sliceStream(await bundle.open(path), ranges)) {
      await pause();
      const where = `${path} item ${range.item.id}`;
      if (hash('sha256', bytes) !== range.item.sha256) {
        findings.push({
          where,
          message: `bytes ${range.offset}-${range.offset + range.length} do not hash to the manifest's SHA-256`,
        });
        // Counted all the same: the counts then say which fields the damage touched.
      }
      let counts: FieldCounts;
      try {
        // The bundle is UTF-8 throughout; reading it any other way would hide a wrongly encoded export.
        counts = count(utf8.decode(bytes), range.item);
      } catch (error) {
        findings.push({ where, message: `unreadable: ${(error as Error).message}` });
        continue;
      }
      addCounts(fields, counts);
      for (const d of diffCounts(range.item.fields ?? {}, collection.type === 'messages' ? {} : counts)) {
        findings.push({ where, message: `${d.field}: manifest ${d.expected}, bundle ${d.actual}` });
      }
    }
  }
}

/**
 * Property heads (`N;CHARSET=Windows-1252`) that name a charset other than
 * UTF-8 for a plain value: in the bundle's UTF-8 file a reader honouring it
 * would garble the text.
 */
function misleadingCharsets(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const head = /^[^:"]*/.exec(line)?.[0] ?? '';
    const charset = /;CHARSET="?([^;:"]+)/i.exec(head)?.[1];
    if (!charset || /^utf-?8$/i.test(charset) || /QUOTED-PRINTABLE/i.test(head)) continue;
    out.push(head);
  }
  return out;
}

/** The cards of a .vcf, read independently of the manifest, must be exactly the manifest's items in order. */
async function checkCards(bundle: Bundle, collection: ManifestCollection, findings: Finding[]): Promise<void> {
  if (!bundle.entries.has(collection.path)) return;
  const items = [...collection.items].sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
  let index = 0;
  for await (const part of readVcardFile(await bundle.open(collection.path))) {
    if (part.kind === 'problem') {
      findings.push({ where: collection.path, message: part.reason });
      continue;
    }
    const item = items[index++];
    // A card whose stored text has no final line break is followed by a CRLF that is not part of its slice.
    const sha = hash('sha256', part.text);
    const bare = hash('sha256', part.text.replace(/\r\n$/, ''));
    if (!item)
      findings.push({ where: collection.path, message: `a card at line ${part.line} that the manifest does not list` });
    else if (sha !== item.sha256 && bare !== item.sha256)
      findings.push({
        where: `${collection.path} item ${item.id}`,
        message: `the card at line ${part.line} is not the item's slice`,
      });
  }
  if (index < items.length)
    findings.push({
      where: collection.path,
      message: `${items.length - index} listed item(s) are not cards of the file`,
    });
}

/**
 * The slices of a file must follow one another with exactly `gap` bytes
 * between them and `tail` bytes after the last, so no bytes of the file
 * belong to no item.
 */
function checkTiling(
  bundle: Bundle,
  path: string,
  items: ManifestItem[],
  gap: number,
  tail: number,
  findings: Finding[],
): void {
  const size = bundle.entries.get(path)?.uncompressedSize;
  if (size === undefined || items.length === 0) return;
  const ranges = items.map((i) => ({ id: i.id, start: i.offset ?? 0, end: (i.offset ?? 0) + (i.length ?? 0) }));
  ranges.sort((a, b) => a.start - b.start);
  ranges.forEach((range, i) => {
    const previous = ranges[i - 1];
    if (previous && range.start !== previous.end + gap) {
      findings.push({
        where: `${path} item ${range.id}`,
        message: `starts at byte ${range.start}, expected ${previous.end + gap}: bytes between items belong to none`,
      });
    }
  });
  const last = ranges.at(-1);
  if (last && last.end + tail !== size) {
    findings.push({ where: path, message: `${size - last.end} bytes after the last item, expected ${tail}` });
  }
}

async function readItemFile(bundle: Bundle, item: ManifestItem, findings: Finding[]): Promise<Buffer | null> {
  const path = item.path ?? '';
  if (!bundle.entries.has(path)) return null; // reported by checkFiles
  const bytes = await bundle.readBytes(path, 64 * 1024 * 1024);
  if (hash('sha256', bytes) === item.sha256) return bytes;
  findings.push({ where: `${path} item ${item.id}`, message: "does not hash to the manifest's SHA-256" });
  return null;
}

async function hashOf(bundle: Bundle, path: string): Promise<string> {
  const hasher = createHash('sha256');
  for await (const chunk of await bundle.open(path)) hasher.update(chunk as Buffer);
  return hasher.digest('hex');
}
