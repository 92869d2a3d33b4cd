import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepository, initRepository, openRepository, S3Target } from '@holdfast/backup';
import S3rver from 's3rver';
import { describe, expect, it } from 'vitest';
import { readHead } from '../store/revision-log.js';
import { startTestServer } from '../test-support/harness.js';
import { startBackupService } from './backup-service.js';
import {
  addUser,
  cleanupAfterEach,
  createCollection,
  pushNotes,
  pushPhoto,
  TEST_KDF,
  TEST_PASSPHRASE,
} from './backup-test-support.js';
import { runDrill } from './drill.js';

const defer = cleanupAfterEach();

/** A real s3rver that can be stopped and started again on the same port and files. */
async function s3(directory: string, port = 0) {
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: 'backups' }],
  });
  const address = await server.run();
  return {
    port: address.port,
    async stop() {
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

describe('journal shipping to S3', () => {
  it('ships to a real S3 store, rides out its outage, catches up without a gap, and verifies', async () => {
    const files = await mkdtemp(join(tmpdir(), 'holdfast-s3-backup-'));
    defer(() => rm(files, { recursive: true, force: true }));
    let store = await s3(files);
    const port = store.port;
    defer(() => store.stop());
    const s3Settings = {
      's3-endpoint': `http://127.0.0.1:${port}`,
      's3-access-key-id': 'S3RVER',
      's3-secret-access-key': 'S3RVER',
    };
    const client = {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    };
    const target = new S3Target({ bucket: 'backups', prefix: 'holdfast', client });
    defer(() => target.close());
    await initRepository(target, { passphrase: TEST_PASSPHRASE }, { kdf: TEST_KDF });
    const server = await startTestServer('sqlite', {
      'backup-targets': 's3://backups/holdfast',
      'backup-passphrase': TEST_PASSPHRASE,
      'backup-drill-interval': '0',
      ...s3Settings,
    });
    defer(server.close);
    const alice = await addUser(server, 'alice');
    const notes = await pushNotes(server, alice, 30);
    const photos = await createCollection(server, alice, 'photos');
    await pushPhoto(server, alice, photos, 'p1');
    const { config, db, blobs, log } = server.ctx;
    const service = startBackupService({ config, db, blobs, log, now: Date.now }, { timers: false });
    defer(() => service.stop());
    await service.runOnce();
    expect(service.health()[0]?.lagRevisions).toBe(0);

    await store.stop();
    await pushNotes(server, alice, 20, { collectionId: notes, prefix: 'down' });
    await pushPhoto(server, alice, photos, 'p2', 7);
    await service.runOnce();
    expect(service.health()[0]?.outage).not.toBeNull();
    expect(service.health()[0]?.lagRevisions).toBe(21);

    store = await s3(files, port);
    await service.runOnce();
    expect(service.health()[0]?.outage).toBeNull();
    expect(service.health()[0]?.shippedSeq).toBe(await readHead(db.kysely));
    const repo = await openRepository(target, { passphrase: TEST_PASSPHRASE });
    expect((await checkRepository(repo)).problems).toEqual([]);
    await service.runOnce();
    const drill = await runDrill(repo);
    expect(drill.verification.record.errors).toEqual([]);
    expect(drill.verification.record.ok).toBe(true);
  });
});
