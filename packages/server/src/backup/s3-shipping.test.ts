import { checkRepository, initRepository, openRepository, S3Target } from '@holdfast/backup';
import { startTestServer } from '@holdfast/test-support/harness';
import { startS3 } from '@holdfast/test-support/s3rver';
import { describe, expect, it } from 'vitest';
import { readHead } from '../store/revision-log.js';
import {
  addUser,
  cleanupAfterEach,
  createCollection,
  pushNotes,
  pushPhoto,
  TEST_KDF,
  TEST_PASSPHRASE,
} from '../test-support/backups.js';
import { startBackupService } from './backup-service.js';
import { runDrill } from './drill.js';

const defer = cleanupAfterEach();

describe('journal shipping to S3', () => {
  it('ships to a real S3 store, rides out its outage, catches up without a gap, and verifies', async () => {
    const store = await startS3('backups');
    defer(() => store.cleanup());
    const s3Settings = {
      's3-endpoint': store.endpoint,
      's3-access-key-id': store.credentials.accessKeyId,
      's3-secret-access-key': store.credentials.secretAccessKey,
    };
    const target = new S3Target({ bucket: 'backups', prefix: 'holdfast', client: store.clientConfig });
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

    await store.restart();
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
