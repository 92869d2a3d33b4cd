import { attachAckGate, noteDurable } from '@holdfast/server';
import { itemOf, serverContents } from '@holdfast/test-support/inspect';
import {
  type Account,
  createAccount,
  device,
  type LiveServer,
  startLiveServer,
} from '@holdfast/test-support/live-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('what the server acknowledged above its backup watermark', () => {
  let live: LiveServer;
  let account: Account;
  beforeEach(async () => {
    live = await startLiveServer('sqlite');
    account = await createAccount(live);
  });
  afterEach(async () => live?.close());

  it('is re-uploaded after a restore even when the restored copy looks newer', async () => {
    const a = await device(live, account, { name: 'a' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    // The server's clock runs an hour ahead while the first version is written.
    const ctx = live.ctx();
    ctx.now = () => Date.now() + 3_600_000;
    a.createItem(notes.id, { title: 'first', body: '' }, { id: 'x' });
    await a.sync();
    await live.stop();
    const backup = await live.copyDatabase();
    await live.start();

    // Acknowledged with the clock right again, so stamped earlier than the first version.
    a.updateItem('x', { title: 'second', body: '' });
    await a.sync();
    const revision = itemOf(a, 'x').baseRevision as number;
    // The backup target holds everything before the second version, and the feed says so.
    noteDurable(attachAckGate(live.ctx(), 1), 0, revision - 1);
    await a.sync();
    expect(a.store.transaction((tx) => tx.getState().backupWatermark)).toBe(revision - 1);

    await live.stop();
    await live.start({ databaseUrl: backup });
    const result = await a.sync();
    expect(result.reseeded).toMatchObject({ reason: 'generation_changed', itemsUploaded: 1 });
    expect(itemOf(a, 'x').content).toMatchObject({ title: 'second' });
    expect((await serverContents(live, account)).get('x')).toMatchObject({ title: 'second' });
  });
});
