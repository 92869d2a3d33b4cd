import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  on(event: 'event', listener: (event: S3rverEvent) => void): void;
}
interface S3rverEvent {
  Records: { eventName: string; s3: { object: { key: string } } }[];
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** A running s3rver with one empty bucket. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The keys s3rver checks request signatures against. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Object writes and deletes so far, oldest first, e.g.
   * `{ name: 'ObjectCreated:Put', key }`; multipart completions are
   * `ObjectCreated:Post`.
   */
  events: { name: string; key: string }[];
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

/**
 * Starts a real S3-compatible server (s3rver) on 127.0.0.1, on a free port,
 * storing objects in a fresh temp directory, with an empty bucket. Clients
 * need path-style addressing (`forcePathStyle: true`).
 */
export async function startS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'holdfast-s3rver-'));
  const bucket = 'holdfast-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const events: TestS3['events'] = [];
  server.on('event', (event) => {
    for (const record of event.Records) events.push({ name: record.eventName, key: record.s3.object.key });
  });
  try {
    const { port } = await server.run();
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      events,
      async stop() {
        // Clients that were never destroyed hold keep-alive sockets that would stall close().
        server.httpServer?.closeAllConnections();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
}
