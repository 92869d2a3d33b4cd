import { canonicalJson, photoContentSchema } from '@holdfast/protocol';
import { safeName } from '../bundle/bundle-writer.js';
import type { CollectionSummary } from '../bundle/manifest-spool.js';
import { extensionFor } from '../content/media-types.js';
import { allItemsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import type { ExportRun } from './export-run.js';

/**
 * `photos/<collection>/<filename>`: the blob's bytes exactly as stored,
 * streamed from the blob store (not recompressed), and beside it
 * `<filename>.json`, the sidecar with the photo's fields and what the server
 * read from its bytes. The item's hash is the sidecar's; the photo file's
 * hash is the blob's own SHA-256, which verify checks.
 */
export async function exportPhotos(run: ExportRun, collection: SnapshotCollection): Promise<CollectionSummary> {
  const folder = run.writer.uniquePath(`photos/${safeName(collection.name, collection.id)}`);
  let bytes = 0;
  for await (const item of allItemsAt(run.db, run.userId, collection.id, run.seq)) {
    await run.pause();
    const { revision } = item;
    const photo = photoContentSchema.parse(JSON.parse(revision.content ?? '{}'));
    const sha256 = revision.blob_sha256 ?? '';
    const contentType = revision.blob_content_type ?? 'application/octet-stream';
    const fallback = `${item.id}${extensionFor(contentType)}`;
    const path = run.writer.uniquePath(`${folder}/${safeName(photo.filename ?? '', fallback)}`);
    const createdAt = new Date(item.createdAt).toISOString();
    const updatedAt = new Date(revision.created_at).toISOString();
    const stream = sha256 ? await run.blobs.get(sha256) : null;
    if (!stream) {
      run.problems.push({
        collectionId: collection.id,
        itemId: item.id,
        problem: `blob ${sha256} is missing from storage`,
      });
      continue;
    }
    const file = await run.writer.addFile(path, stream, { compress: false, sha256 });
    bytes += file.bytes;
    const sidecar = canonicalJson({
      id: item.id,
      revision: revision.seq,
      ...photo,
      contentType,
      sha256,
      meta: revision.meta ? JSON.parse(revision.meta) : null,
      createdAt,
      updatedAt,
    });
    const sidecarFile = await run.writer.addFile(run.writer.uniquePath(`${path}.json`), Buffer.from(`${sidecar}\n`));
    await run.manifest.add({
      id: item.id,
      revision: revision.seq,
      sha256: sidecarFile.sha256,
      path: sidecarFile.path,
      createdAt,
      updatedAt,
      blob: { sha256, contentType, size: file.bytes, path },
    });
  }
  const itemCount = run.manifest.take();
  return { ...collection, path: `${folder}/`, itemCount, fields: { items: itemCount, bytes } };
}
