import { randomUUID } from 'node:crypto';
import { DirectoryTarget, type Target } from '@holdfast/backup';
import { addUser, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { cleanupAfterEach, startBackedUpServer } from '../test-support/backups.js';
import { attachAckGate, closeAckGate } from './ack-gate.js';
import { createBackupMetrics } from './backup-metrics.js';
import { startBackupService } from './backup-service.js';
import { ackGateDeps } from './server-backups.js';

const defer = cleanupAfterEach();

/** Backup metrics that count shipping passes: each one ends by measuring the lag. */
function countingMetrics(counter: { passes: number }) {
  const metrics = createBackupMetrics(new Registry());
  const set = metrics.lagRevisions.set.bind(metrics.lagRevisions);
  metrics.lagRevisions.set = ((...args: Parameters<typeof set>) => {
    counter.passes += 1;
    return set(...args);
  }) as typeof set;
  return metrics;
}

/** A directory target that counts how often shipping looks for a prune lock. */
function countingTarget(location: string, counter: { pruneChecks: number }): Target {
  const target = new DirectoryTarget(location);
  const listObjects = target.listObjects.bind(target);
  target.listObjects = (prefix: string) => {
    if (prefix.startsWith('locks/prune-')) counter.pruneChecks += 1;
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

/** A server whose backup service runs as `serve` runs it, with its passes and prune checks counted. */
async function countedServer() {
  // Timed passes an hour apart: only commits and waiting writes start one.
  const setup = await startBackedUpServer('sqlite', 1, { 'backup-ship-interval-ms': '3600000' });
  defer(setup.close);
  const { ctx } = setup.server;
  const counter = { passes: 0, pruneChecks: 0 };
  const gate = attachAckGate(ctx, 1);
  const service = startBackupService({
    config: ctx.config,
    db: ctx.db,
    blobs: ctx.blobs,
    log: ctx.log,
    now: ctx.now,
    metrics: countingMetrics(counter),
    openTarget: (location) => countingTarget(location, counter),
    onCommit: (listener) => ctx.notifier.subscribeAll(listener),
    ...ackGateDeps(gate),
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
  return { counter, push: () => pushOne(setup.server, alice, collectionId) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it('ships a write acknowledged on the target in one pass, not one pass and an empty one', async () => {
  const { counter, push } = await countedServer();
  await settle();
  const before = counter.passes;
  const writes = 8;
  for (let i = 0; i < writes; i++) {
    await push();
    await settle();
  }
  // The commit and the waiting write both wake the loop; the pass that reads the head after both ships it.
  expect(counter.passes - before).toBeGreaterThanOrEqual(writes);
  expect(counter.passes - before).toBeLessThanOrEqual(writes + 2);
});

it('looks for a prune lock about once a second while segments follow each other, not before each one', async () => {
  const { counter, push } = await countedServer();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const before = { ...counter };
  const started = Date.now();
  for (let i = 0; i < 8; i++) await push();
  const seconds = (Date.now() - started) / 1000;
  expect(counter.passes - before.passes).toBeGreaterThanOrEqual(8);
  expect(counter.pruneChecks - before.pruneChecks).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
});
