import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import { recordBlobRows } from '../store/journal-apply.js';
import type { BlobSink } from './bundle-import.js';

export type Stored = { sha256: string } | { reason: string };

/**
 * Puts bytes read from an import file into the blob store under their SHA-256
 * and records them for the user. Several puts may be in flight at once (each
 * waits on its own fsyncs); their records are committed together, as many
 * as arrived while the previous commit ran, so a backup with a thousand
 * pictures costs a few dozen commits rather than a thousand. A blob is
 * recorded only once its bytes are durable, and `store` resolves only once
 * its record is committed.
 */
export function createBlobWriter(sink: BlobSink): { store(bytes: Uint8Array): Promise<Stored> } {
  let waiting: { sha256: string; size: number; done: (error?: unknown) => void }[] = [];
  let busy = false;
  const commit = async () => {
    if (busy || waiting.length === 0) return;
    busy = true;
    const group = waiting;
    waiting = [];
    try {
      const blobs = group.map((g) => ({ sha256: g.sha256, size: g.size, owners: [sink.userId] }));
      await sink.db.kysely.transaction().execute((trx) => recordBlobRows(trx, blobs, sink.now()));
      for (const g of group) g.done();
    } catch (error) {
      for (const g of group) g.done(error);
    } finally {
      busy = false;
      void commit();
    }
  };
  const record = (sha256: string, size: number) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ sha256, size, done: (error) => (error === undefined ? resolve() : reject(error)) });
      void commit();
    });
  return {
    async store(bytes) {
      const sha256 = hash('sha256', bytes);
      try {
        const result = await sink.blobs.put(sha256, Readable.from([bytes]), { maxBytes: sink.maxBlobBytes });
        await record(sha256, result.size);
        return { sha256 };
      } catch (error) {
        if (error instanceof AppError) return { reason: error.message };
        throw error;
      }
    },
  };
}

/** One blob, stored and recorded on its own; the hash, or why it could not be stored (too large for a blob). */
export function storeBytes(sink: BlobSink, bytes: Uint8Array): Promise<Stored> {
  return createBlobWriter(sink).store(bytes);
}
