import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** A real S3-compatible server on 127.0.0.1, storing into a temporary directory. */
export interface TestS3 {
  bucket: string;
  /** Client settings that reach this server (one attempt, so failures surface at once). */
  clientConfig: S3ClientConfig;
  /** Stops the server; requests then fail as they would against an unreachable store. */
  stop(): Promise<void>;
  /** Stops the server if running and deletes its files. */
  cleanup(): Promise<void>;
}

/** Starts s3rver on an ephemeral port with one empty bucket. */
export async function startS3(bucket = 'holdfast-test'): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    server.httpServer?.closeAllConnections();
    await server.close();
  };
  return {
    bucket,
    clientConfig: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    },
    stop,
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
