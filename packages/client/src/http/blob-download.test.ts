import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BLOB_BATCH_TYPE } from '@holdfast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBlob, getBlobs } from './api.js';
import type { Transport } from './transport.js';

const first = Buffer.from('the first blob');
const second = Buffer.from('the second blob, sent a moment later');
const PAUSE_MS = 30;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * A server that sends the start of a download and the rest a moment later.
 * A fetch aborted in between does not always settle a read of that body any
 * more (Node's fetch then leaves it pending for good), so these tests would
 * hang without the download's own abort handling.
 */
describe('a download the caller aborts halfway', () => {
  let server: Server;
  let transport: Transport;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if ((req.url ?? '').startsWith('/v1/blobs?')) {
        const blobs = [first, second].map((bytes) => ({ sha256: sha(bytes), size: bytes.length }));
        const head = Buffer.concat([Buffer.from(`${JSON.stringify({ blobs })}\n`), first]);
        res.writeHead(200, { 'content-type': BLOB_BATCH_TYPE, 'content-length': String(head.length + second.length) });
        res.write(head);
        setTimeout(() => res.end(second), PAUSE_MS);
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(second.length) });
        res.write(second.subarray(0, 5));
        setTimeout(() => res.end(second.subarray(5)), PAUSE_MS);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    transport = {
      fetch: globalThis.fetch,
      serverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: () => 'token',
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    };
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(Array.from({ length: 10 }, (_, i) => i))(
    'stops reading a batch when the caller aborts (%i)',
    async (round) => {
      const stop = new AbortController();
      const batch = await getBlobs(transport, [sha(first), sha(second)], stop.signal);
      const read: Buffer[] = [];
      const reading = (async () => {
        for await (const blob of batch.blobs()) {
          const parts: Uint8Array[] = [];
          for await (const chunk of blob.chunks) {
            parts.push(chunk);
            if (blob.sha256 === sha(first) && Buffer.concat(parts).equals(first)) {
              // Abort before the rest arrives, or just after it did: both must end the read as aborted.
              await new Promise((resolve) => setTimeout(resolve, (round * PAUSE_MS) / 5));
              stop.abort();
            }
          }
          read.push(Buffer.concat(parts));
        }
      })();
      await expect(reading).rejects.toMatchObject({ code: 'aborted' });
      expect(read).toEqual([first]);
    },
  );

  it.each(Array.from({ length: 10 }, (_, i) => i))(
    'stops reading a single blob when the caller aborts (%i)',
    async (round) => {
      const stop = new AbortController();
      const download = await getBlob(transport, sha(second), stop.signal);
      const reading = (async () => {
        for await (const _chunk of download) {
          await new Promise((resolve) => setTimeout(resolve, (round * PAUSE_MS) / 5));
          stop.abort();
        }
      })();
      await expect(reading).rejects.toMatchObject({ code: 'aborted' });
    },
  );
});
