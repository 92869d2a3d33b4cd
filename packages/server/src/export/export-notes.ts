import { AppError, noteContentSchema } from '@holdfast/protocol';
import { safeName } from '../bundle/bundle-writer.js';
import type { CollectionSummary } from '../bundle/manifest-spool.js';
import { allItemsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import type { ExportRun } from './export-run.js';

/**
 * `notes/<collection>/<title>.md`: YAML front matter (id, revision, title,
 * created, updated, and `ical` for a note kept as a journal entry; strings JSON-quoted, which YAML reads as double-quoted
 * scalars) between `---` lines, then the body exactly as stored. The item's
 * hash is the whole file's.
 */
export async function exportNotes(run: ExportRun, collection: SnapshotCollection): Promise<CollectionSummary> {
  const folder = run.writer.uniquePath(`notes/${safeName(collection.name, collection.id)}`);
  let bytes = 0;
  for await (const item of allItemsAt(run.db, run.userId, collection.id, run.seq)) {
    await run.pause();
    const note = noteContentSchema.parse(JSON.parse(item.revision.content ?? '{}'));
    const createdAt = new Date(item.createdAt).toISOString();
    const updatedAt = new Date(item.revision.created_at).toISOString();
    const text = formatNote(
      {
        id: item.id,
        revision: item.revision.seq,
        title: note.title,
        createdAt,
        updatedAt,
        ...(note.ical ? { ical: note.ical } : {}),
      },
      note.body,
    );
    const path = run.writer.uniquePath(`${folder}/${safeName(note.title, item.id)}.md`);
    const file = await run.writer.addFile(path, Buffer.from(text, 'utf8'));
    bytes += Buffer.byteLength(note.body, 'utf8');
    await run.manifest.add({
      id: item.id,
      revision: item.revision.seq,
      sha256: file.sha256,
      path,
      createdAt,
      updatedAt,
    });
  }
  const itemCount = run.manifest.take();
  return { ...collection, path: `${folder}/`, itemCount, fields: { items: itemCount, bytes } };
}

export interface NoteFrontMatter {
  id: string;
  revision: number;
  title: string;
  createdAt: string;
  updatedAt: string;
  /** The journal entry (VJOURNAL calendar object) the note was written as, when it was. */
  ical?: string;
}

export function formatNote(front: NoteFrontMatter, body: string): string {
  return [
    '---',
    `id: ${JSON.stringify(front.id)}`,
    `revision: ${front.revision}`,
    `title: ${JSON.stringify(front.title)}`,
    `created: ${JSON.stringify(front.createdAt)}`,
    `updated: ${JSON.stringify(front.updatedAt)}`,
    ...(front.ical ? [`ical: ${JSON.stringify(front.ical)}`] : []),
    '---',
    body,
  ].join('\n');
}

/** Reads a note file written by formatNote back into its front matter and body. */
export function parseNote(text: string): { front: NoteFrontMatter; body: string } {
  const match = /^---\n((?:[a-z]+: .*\n)*)---\n/.exec(text);
  if (!match) throw new AppError('invalid_content', 'not a Holdfast note: no front matter between --- lines');
  const values: Record<string, unknown> = {};
  for (const line of (match[1] ?? '').split('\n').filter(Boolean)) {
    const at = line.indexOf(': ');
    try {
      values[line.slice(0, at)] = JSON.parse(line.slice(at + 2));
    } catch {
      throw new AppError('invalid_content', `not a Holdfast note: front matter line '${line.slice(0, 60)}'`);
    }
  }
  const { id, revision, title, created, updated, ical } = values;
  if (typeof id !== 'string' || typeof title !== 'string' || typeof revision !== 'number') {
    throw new AppError('invalid_content', 'not a Holdfast note: front matter needs id, revision and title');
  }
  return {
    front: {
      id,
      revision,
      title,
      createdAt: String(created ?? ''),
      updatedAt: String(updated ?? ''),
      ...(typeof ical === 'string' ? { ical } : {}),
    },
    body: text.slice(match[0].length),
  };
}
