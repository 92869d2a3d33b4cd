import { hash } from 'node:crypto';
import { batched, safeName } from '../bundle/bundle-writer.js';
import { addCounts, contactFields, type FieldCounts } from '../bundle/field-counts.js';
import type { ManifestItem } from '../bundle/manifest.js';
import type { CollectionSummary } from '../bundle/manifest-spool.js';
import { withoutTextCharsets } from '../content/text-charsets.js';
import { allItemsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import type { ExportRun } from './export-run.js';
import { toVcard3 } from './vcard-convert.js';

/**
 * `contacts/<collection>.vcf`: every card's stored text one after the other,
 * in item id order, less any CHARSET on a value that is not QUOTED-PRINTABLE
 * (the file is UTF-8, whatever the card was first read from). An item's slice is exactly its text's UTF-8 bytes; a
 * CRLF follows a card whose text does not end in a line break and belongs to
 * no slice. With `vcard: '3.0'` a card is converted where that loses nothing
 * (see vcard-convert.ts) and kept as it was otherwise, which its manifest
 * entry says.
 */
export async function exportContacts(run: ExportRun, collection: SnapshotCollection): Promise<CollectionSummary> {
  const path = run.writer.uniquePath(`contacts/${safeName(collection.name, collection.id)}.vcf`);
  const fields: FieldCounts = {};
  let offset = 0;

  async function* cards(): AsyncGenerator<string> {
    for await (const item of allItemsAt(run.db, run.userId, collection.id, run.seq)) {
      await run.pause();
      const stored = item.revision.content ?? '';
      const meta = item.revision.meta ? (JSON.parse(item.revision.meta) as Record<string, unknown>) : {};
      const originalVersion = typeof meta.version === 'string' ? meta.version : null;
      const entry: Partial<ManifestItem> = {};
      // The file is UTF-8: a CHARSET naming the bytes a card was once read from would mislead its readers.
      let text = withoutTextCharsets(stored);
      if (run.options.vcard === '3.0' && originalVersion !== '3.0') {
        const converted = toVcard3(text);
        if ('text' in converted) {
          text = converted.text;
          entry.version = '3.0';
          entry.originalVersion = originalVersion;
        } else {
          entry.version = originalVersion;
          entry.conversionSkipped = converted.reason;
        }
      } else {
        entry.version = originalVersion;
      }
      const length = Buffer.byteLength(text, 'utf8');
      const counts = contactFields(text);
      addCounts(fields, counts);
      await run.manifest.add({
        id: item.id,
        revision: item.revision.seq,
        sha256: hash('sha256', text),
        offset,
        length,
        createdAt: new Date(item.createdAt).toISOString(),
        updatedAt: new Date(item.revision.created_at).toISOString(),
        uid: typeof meta.uid === 'string' ? meta.uid : null,
        ...entry,
        fields: counts,
      });
      offset += length;
      yield text;
      if (!/[\r\n]$/.test(text)) {
        offset += 2;
        yield '\r\n';
      }
    }
  }

  await run.writer.addFile(path, batched(cards()));
  const itemCount = run.manifest.take();
  return {
    ...collection,
    path,
    itemCount,
    fields: { items: itemCount, ...fields },
  };
}
