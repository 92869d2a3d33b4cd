import { randomUUID } from 'node:crypto';
import { DirectoryTarget, type Target } from '@holdfast/backup';
import { addUser, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { expect, it } from 'vitest';
import { cleanupAfterEach, startBackedUpServer } from '../test-support/backups.js';
import { attachAckGate, closeAckGate, noteDurable } from './ack-gate.js';
import { startBackupService } from './backup-service.js';

const defer = cleanupAfterEach();

/** A directory target that counts shipping passes: each one starts by listing prune locks. */
function countingTarget(location: string, counter: { passes: number }): Target {
  const target = new DirectoryTarget(location);
  const listObjects = target.listObjects.bind(target);
  target.listObjects = (prefix: string) => {
    if (prefix.startsWith('locks/prune-')) counter.passes += 1;
    return listObjects(prefix);
  };
  return target;
}

async function pushOne(server: TestServer, user: TestUser, collectionId: string) {
  const response = await server.app.inject({
    method: 'POST',
    url: '/v1/push',
    headers: user.auth,
    payload: {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId,
          itemId: randomUUID(),
          op: 'put',
          baseRevision: null,
          content: { title: 'one', body: randomUUID() },
        },
      ],
    },
  });
  expect(response.statusCode).toBe(200);
  expect(response.json()).toMatchObject({ durability: 'target' });
}

it('ships a write acknowledged on the target in one pass, not one pass and an empty one', async () => {
  // Timed passes an hour apart: only commits and waiting writes start one.
  const setup = await startBackedUpServer('sqlite', 1, { 'backup-ship-interval-ms': '3600000' });
  defer(setup.close);
  const { ctx } = setup.server;
  const counter = { passes: 0 };
  const gate = attachAckGate(ctx, 1);
  const service = startBackupService({
    config: ctx.config,
    db: ctx.db,
    blobs: ctx.blobs,
    log: ctx.log,
    now: ctx.now,
    openTarget: (location) => countingTarget(location, counter),
    onCommit: (listener) => ctx.notifier.subscribeAll(listener),
    onDurable: (index, seq) => noteDurable(gate, index, seq),
  });
  gate.onWait = () => service.wake();
  defer(async () => {
    closeAckGate(gate);
    await service.stop();
  });
  const alice = await addUser(setup.server, 'alice');
  const created = await setup.server.app.inject({
    method: 'POST',
    url: '/v1/collections',
    headers: alice.auth,
    payload: { type: 'notes', name: 'Notes' },
  });
  const collectionId = (created.json() as { id: string }).id;
  await pushOne(setup.server, alice, collectionId);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  await settle();
  const before = counter.passes;
  const writes = 8;
  for (let i = 0; i < writes; i++) {
    await pushOne(setup.server, alice, collectionId);
    await settle();
  }
  // The commit and the waiting write both wake the loop; the pass that reads the head after both ships it.
  expect(counter.passes - before).toBeGreaterThanOrEqual(writes);
  expect(counter.passes - before).toBeLessThanOrEqual(writes + 2);
});
