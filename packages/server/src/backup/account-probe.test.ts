import { listAccountStates } from '@holdfast/backup';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import type { KyselyPlugin } from 'kysely';
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
import { type AccountTables, accountFingerprint } from './account-tables.js';
import { startBackupService } from './backup-service.js';

const defer = cleanupAfterEach();

/** A resource name a DAV client chose, which only the dav_names table knows. */
function davName(user: TestUser, collection: string, n: number) {
  return {
    user_id: user.userId,
    collection_id: collection,
    name: `client-chosen-name-${n}.ics`,
    item_id: `itm-${n}`,
    created_at: Date.now(),
  };
}

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
    await insertDavName(k, davName(alice, collection, 1));
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

    await insertDavName(k, davName(alice, collection, 1));
    await shipOnce(server);
    const after = await listAccountStates(repo);
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)?.state.dav_names.map((row) => row.name)).toEqual(['client-chosen-name-1.ics']);
  });
});

describe('the once-a-second account check', () => {
  it('reads no DAV name rows while nothing changed, and all of them once one was added', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server } = setup;
    const alice = await addUser(server, 'alice');
    const collection = await pushNotes(server, alice, 1);
    const k = server.ctx.db.kysely;
    for (let n = 0; n < 3; n++) await insertDavName(k, davName(alice, collection, n));
    // Counts the rows of dav_names that reach the backup service (a count(*) is one row, not a name).
    let namesRead = 0;
    const davQueries = new Set<unknown>();
    const counter: KyselyPlugin = {
      transformQuery(args) {
        const text = JSON.stringify(args.node);
        if (text.includes('"dav_names"') && !text.includes('AggregateFunctionNode')) davQueries.add(args.queryId);
        return args.node;
      },
      async transformResult(args) {
        if (davQueries.has(args.queryId)) namesRead += args.result.rows.length;
        return args.result;
      },
    };
    const { config, blobs, log } = server.ctx;
    const db = { ...server.ctx.db, kysely: k.withPlugin(counter) };
    const service = startBackupService({ config, db, blobs, log, now: Date.now }, { timers: false });
    defer(() => service.stop());
    await service.runOnce();
    expect(namesRead).toBe(3);

    // The check runs at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await service.runOnce();
    expect(namesRead).toBe(3);

    await insertDavName(k, davName(alice, collection, 3));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await service.runOnce();
    expect(namesRead).toBe(7);
  });
});

describe('the account tables fingerprint', () => {
  const tables = (): AccountTables => ({
    users: [
      { id: 'u1', username: 'alice', password_hash: 'h', disabled: 0, created_at: 1, updated_at: 2 },
      {
        id: 'u2',
        username: 'bob',
        password_hash: 'h',
        disabled: 0,
        created_at: 1,
        updated_at: 2,
        email: 'b@example.org',
      },
    ],
    devices: [],
    app_passwords: [],
    dav_names: [{ user_id: 'u1', collection_id: 'c', name: 'n.vcf', item_id: 'i', created_at: 3 }],
    imports: [],
  });

  it('reads rows alike whatever the order of their keys, and tells any changed value or key apart', () => {
    const base = accountFingerprint(tables());
    const reordered = tables();
    reordered.users = reordered.users.map((row) => Object.fromEntries(Object.entries(row).reverse()) as typeof row);
    reordered.dav_names = [{ created_at: 3, item_id: 'i', name: 'n.vcf', collection_id: 'c', user_id: 'u1' }];
    expect(accountFingerprint(reordered)).toBe(base);

    const renamed = tables();
    (renamed.dav_names[0] as { name: string }).name = 'm.vcf';
    expect(accountFingerprint(renamed)).not.toBe(base);
    const withEmail = tables();
    withEmail.users[0] = { ...(withEmail.users[0] as AccountTables['users'][number]), email: 'a@example.org' };
    expect(accountFingerprint(withEmail)).not.toBe(base);
    const emptied = tables();
    emptied.dav_names = [];
    emptied.imports = [];
    expect(accountFingerprint(emptied)).not.toBe(base);
  });
});
