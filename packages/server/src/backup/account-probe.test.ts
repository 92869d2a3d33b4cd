import { listAccountStates } from '@holdfast/backup';
import { addUser, engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { readAccountProbe } from '../store/account-state.js';
import { insertDavName } from '../store/dav-names.js';
import {
  cleanupAfterEach,
  openTestRepository,
  pushNotes,
  shipOnce,
  startBackedUpServer,
} from '../test-support/backups.js';

const defer = cleanupAfterEach();

describe.each(engines)('the account probe on %s', (engine) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('moves with every change an account state carries, and not with last-seen times', async () => {
    server = await startTestServer(engine);
    const { db } = server.ctx;
    const k = db.kysely;
    const empty = await readAccountProbe(db);
    const alice = await addUser(server, 'alice');
    const withAlice = await readAccountProbe(db);
    expect(withAlice).not.toBe(empty);

    // Used, not changed: a device seen again, an app password used.
    await k
      .updateTable('devices')
      .set({ last_seen_at: Date.now() + 60_000 })
      .where('id', '=', alice.deviceId)
      .execute();
    expect(await readAccountProbe(db)).toBe(withAlice);

    const collection = await pushNotes(server, alice, 1);
    await insertDavName(k, {
      user_id: alice.userId,
      collection_id: collection,
      name: 'client-chosen-name.ics',
      item_id: 'itm-1',
      created_at: Date.now(),
    });
    const withName = await readAccountProbe(db);
    expect(withName).not.toBe(withAlice);

    await k.updateTable('devices').set({ revoked_at: Date.now() }).where('id', '=', alice.deviceId).execute();
    expect(await readAccountProbe(db)).not.toBe(withName);
  });
});

describe('account states on the target', () => {
  it('gain a DAV name within a pass, and are not written again for a device that was only seen', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    const collection = await pushNotes(server, alice, 1);
    await shipOnce(server);
    const repo = await openTestRepository(dirs[0] as string, defer);
    const before = await listAccountStates(repo);

    const k = server.ctx.db.kysely;
    await k
      .updateTable('devices')
      .set({ last_seen_at: Date.now() + 60_000 })
      .where('id', '=', alice.deviceId)
      .execute();
    await shipOnce(server);
    expect(await listAccountStates(repo)).toHaveLength(before.length);

    await insertDavName(k, {
      user_id: alice.userId,
      collection_id: collection,
      name: 'client-chosen-name.ics',
      item_id: 'itm-1',
      created_at: Date.now(),
    });
    await shipOnce(server);
    const after = await listAccountStates(repo);
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)?.state.dav_names.map((row) => row.name)).toEqual(['client-chosen-name.ics']);
  });
});
