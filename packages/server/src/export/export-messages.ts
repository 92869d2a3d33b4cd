import { createHash } from 'node:crypto';
import { canonicalJson, type MessageContent, messageContentSchema } from '@holdfast/protocol';
import { batched, safeName } from '../bundle/bundle-writer.js';
import type { CollectionSummary } from '../bundle/manifest-spool.js';
import { allItemsAt, type SnapshotCollection } from '../store/account-snapshot.js';
import { readRevisionsBySeq } from '../sync/point-in-time.js';
import type { ExportRun } from './export-run.js';

export interface MessageEntry {
  id: string;
  seq: number;
  createdAt: number;
  /** When it was sent, ms since the epoch (NaN if unreadable). */
  sentAt: number;
}

/**
 * `messages/<collection>/<thread>.json`: a JSON array, one message per line
 * (`{"content":…,"createdAt":…,"id":…,"revision":…,"updatedAt":…}`, keys
 * sorted), oldest first. An item's slice is its line without the `,` and line
 * break around it. Attachments are stored once each as
 * `messages/attachments/<sha256>`, bytes as stored.
 */
export async function exportMessages(run: ExportRun, collection: SnapshotCollection): Promise<CollectionSummary> {
  const folder = run.writer.uniquePath(`messages/${safeName(collection.name, collection.id)}`);
  const threads = new Map<string, MessageEntry[]>();
  for await (const item of allItemsAt(run.db, run.userId, collection.id, run.seq)) {
    await run.pause();
    const meta = item.revision.meta ? (JSON.parse(item.revision.meta) as { thread?: string; sentAt?: string }) : {};
    const thread = meta.thread ?? '';
    const list = threads.get(thread) ?? [];
    list.push({
      id: item.id,
      seq: item.revision.seq,
      createdAt: item.createdAt,
      sentAt: Date.parse(meta.sentAt ?? ''),
    });
    threads.set(thread, list);
  }
  let attachments = 0;
  for (const [thread, unsorted] of [...threads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const entries = sortThread(unsorted);
    const path = run.writer.uniquePath(`${folder}/${safeName(thread, 'thread')}.json`);
    const needed: MessageContent['attachments'] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      let offset = 2;
      yield Buffer.from('[\n');
      let first = true;
      for await (const { entry, revision, content } of messagesOf(run, entries)) {
        const line = Buffer.from(
          canonicalJson({
            id: entry.id,
            revision: revision.seq,
            createdAt: new Date(entry.createdAt).toISOString(),
            updatedAt: new Date(revision.created_at).toISOString(),
            content,
          }),
        );
        if (!first) {
          yield Buffer.from(',\n');
          offset += 2;
        }
        first = false;
        await run.manifest.add({
          id: entry.id,
          revision: revision.seq,
          sha256: createHash('sha256').update(line).digest('hex'),
          path,
          offset,
          length: line.length,
          createdAt: new Date(entry.createdAt).toISOString(),
          updatedAt: new Date(revision.created_at).toISOString(),
        });
        offset += line.length;
        needed.push(...content.attachments);
        yield line;
      }
      yield Buffer.from('\n]\n');
    }
    await run.writer.addFile(path, batched(body()));
    for (const attachment of needed) {
      attachments++;
      if (run.writtenBlobs.has(attachment.sha256)) continue;
      run.writtenBlobs.add(attachment.sha256);
      const stream = await run.blobs.get(attachment.sha256);
      if (!stream) {
        run.problems.push({
          collectionId: collection.id,
          itemId: null,
          problem: `attachment ${attachment.sha256} is missing from storage`,
        });
        continue;
      }
      await run.writer.addFile(`messages/attachments/${attachment.sha256}`, stream, {
        compress: false,
        sha256: attachment.sha256,
      });
    }
  }
  run.smsThreads.push(...threads.values());
  const itemCount = run.manifest.take();
  return {
    ...collection,
    path: `${folder}/`,
    itemCount,
    fields: { items: itemCount, threads: threads.size, attachments },
  };
}

/** Orders a thread's messages oldest first (by sentAt, then id); unreadable times go last. */
export function sortThread(entries: MessageEntry[]): MessageEntry[] {
  const key = (e: MessageEntry) => (Number.isNaN(e.sentAt) ? Number.POSITIVE_INFINITY : e.sentAt);
  return entries.sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The messages of a (sorted) thread, read by revision a page at a time. */
export async function* messagesOf(
  run: Pick<ExportRun, 'db' | 'userId'>,
  entries: MessageEntry[],
): AsyncGenerator<{ entry: MessageEntry; revision: { seq: number; created_at: number }; content: MessageContent }> {
  for (let i = 0; i < entries.length; i += 400) {
    const page = entries.slice(i, i + 400);
    const rows = await readRevisionsBySeq(
      run.db,
      run.userId,
      page.map((e) => e.seq),
    );
    for (const entry of page) {
      const row = rows.get(entry.seq);
      if (!row) continue;
      yield { entry, revision: row, content: messageContentSchema.parse(JSON.parse(row.content ?? '{}')) };
    }
  }
}
