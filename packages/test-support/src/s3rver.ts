import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';

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
  /** Client settings that reach this server (one attempt, so failures surface at once). */
  clientConfig: S3ClientConfig;
  /**
   * Object writes and deletes so far, oldest first, e.g.
   * `{ name: 'ObjectCreated:Put', key }`; multipart completions are
   * `ObjectCreated:Post`.
   */
  events: { name: string; key: string }[];
  /** Stops the server; requests then fail as they would against an unreachable store. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port and objects, the way a store comes back after an outage. */
  restart(): Promise<void>;
  /** Stops the server if running and deletes its data. */
  cleanup(): Promise<void>;
}

/**
 * Starts a real S3-compatible server (s3rver) on 127.0.0.1, on a free port,
 * storing objects in a fresh temp directory, with an empty bucket. Clients
 * need path-style addressing (`forcePathStyle: true`).
 */
export async function startS3(bucket = 'holdfast-test'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'holdfast-s3rver-'));
  const events: TestS3['events'] = [];
  const launch = async (port: number) => {
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      configureBuckets: [{ name: bucket, configs: [] }],
    });
    server.on('event', (event) => {
      for (const record of event.Records) events.push({ name: record.eventName, key: record.s3.object.key });
    });
    return { server, port: (await server.run()).port };
  };
  let running: S3rverInstance | null;
  let port: number;
  try {
    ({ server: running, port } = await launch(0));
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const stop = async () => {
    const server = running;
    if (!server) return;
    running = null;
    // Clients that were never destroyed hold keep-alive sockets that would stall close().
    server.httpServer?.closeAllConnections();
    await server.close();
  };
  return {
    endpoint,
    bucket,
    credentials,
    clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 },
    events,
    stop,
    async restart() {
      if (!running) running = (await launch(port)).server;
    },
    async cleanup() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
