import { randomUUID } from 'node:crypto';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { type SmtpListener, startSmtpListener } from '@holdfast/test-support/smtp-listener';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import { listLedger, recordIncident } from '../ledger/ledger.js';
import { closeContext, type DatabaseContext, openContext } from '../open-context.js';
import { readGeneration } from '../store/meta.js';
import { startNewGeneration } from '../sync/lineage.js';
import { type Notifier, startNotifier } from './notifier.js';

describe.each(engines)('telling people by e-mail on %s', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(smtpUrl?: string) {
    const server = await startTestServer(engine);
    cleanups.push(() => server.close());
    const smtp = smtpUrl ? null : await startSmtpListener();
    if (smtp) cleanups.push(() => smtp.close());
    const clock = { offset: 0 };
    const config: Config = {
      ...server.ctx.config,
      smtpUrl: smtpUrl ?? (smtp as SmtpListener).url,
      portalUrl: 'https://holdfast.example.org',
      smtpTimeoutMs: 5000,
    };
    const notifierOn = (db = server.ctx.db): Notifier => {
      const notifier = startNotifier(
        { config, db, log: server.ctx.log, now: () => Date.now() + clock.offset },
        { loop: false },
      );
      cleanups.push(() => notifier.stop());
      return notifier;
    };
    return { server, smtp, clock, config, notifierOn };
  }

  const call = (server: TestServer, user: TestUser, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    server.app.inject({ method, url, headers: user.auth, ...(payload ? { payload } : {}) });

  async function withEmail(server: TestServer, name: string, mailed = true) {
    const user = await addUser(server, `${name}-${randomUUID().slice(0, 6)}`);
    const email = `${user.username}@example.org`;
    if (mailed) expect((await call(server, user, 'PATCH', '/v1/me', { email })).statusCode).toBe(200);
    return user;
  }

  /** Alice's contacts, changed and then restored to how they were: a real point-in-time restore. */
  async function restoreSomething(server: TestServer, user: TestUser) {
    const book = (await call(server, user, 'POST', '/v1/collections', { type: 'contacts', name: 'Family' })).json().id;
    const put = (itemId: string, content: string, baseRevision: number | null = null) => ({
      clientChangeId: randomUUID(),
      collectionId: book,
      itemId,
      op: 'put',
      baseRevision,
      content,
    });
    const push = async (changes: object[]) =>
      (await call(server, user, 'POST', '/v1/push', { changes })).json().results as { revision: number }[];
    const [ada, bea] = await push([put('ada', vcard('ada', 'Ada')), put('bea', vcard('bea', 'Bea'))]);
    const good = (await call(server, user, 'GET', '/v1/me')).json().head as number;
    await push([put('ada', vcard('ada', 'Ada', ''), ada?.revision)]);
    await push([put('bea', vcard('bea', 'Bea', ''), bea?.revision)]);
    await push([put('junk', vcard('junk', 'Junk'))]);
    const restored = await call(server, user, 'POST', '/v1/restore', { revision: good });
    expect(restored.json().counts).toEqual({ restore: 2, remove: 1, unchanged: 0 });
  }

  async function notifications(server: TestServer, userId?: string) {
    const rows = await listLedger(server.ctx.db, { limit: 10_000, ...(userId ? { userId } : {}) });
    return rows
      .filter((r) => r.kind === 'notification')
      .map((r): Record<string, unknown> => ({ ...JSON.parse(r.details), userId: r.user_id }));
  }

  it('mails the person whose data a point-in-time restore changed, naming the counts, once', async () => {
    const { server, smtp, notifierOn } = await setup();
    const alice = await withEmail(server, 'alice');
    await restoreSomething(server, alice);
    const notifier = notifierOn();
    await notifier.runOnce();
    const mails = smtp?.mails ?? [];
    expect(mails).toHaveLength(1);
    const mail = mails[0];
    expect(mail?.to).toEqual([`${alice.username}@example.org`]);
    expect(mail?.subject).toMatch(/^Holdfast: Your data was restored as it was at revision \d+$/);
    expect(mail?.text).toContain(`Hello ${alice.username},`);
    expect(mail?.text).toContain('What happened: Your data across your whole account was put back');
    expect(mail?.text).toContain('2 items came back as they were then and 1 item added since was removed.');
    expect(mail?.text).toContain('What to do: Check in the portal');
    expect(mail?.text).toContain('https://holdfast.example.org/');
    expect(mail?.messageId).toMatch(/^<notice-\d+-[0-9a-f-]+@localhost>$/);
    const restore = (await listLedger(server.ctx.db, { userId: alice.userId, limit: 100 })).find(
      (r) => r.kind === 'restore',
    );
    expect(await notifications(server)).toEqual([
      {
        userId: alice.userId,
        relatesTo: restore?.seq,
        relatesToKind: 'restore',
        channel: 'email',
        status: 'sent',
        attempts: 1,
      },
    ]);
    // Later passes, and a restart (a new notifier reading the cursor from the database), send nothing again.
    await notifier.runOnce();
    await notifierOn().runOnce();
    expect(mails).toHaveLength(1);
    expect(await notifications(server)).toHaveLength(1);
  });

  it('mails each person a deployment-wide incident touched once, with two notifiers racing, and no one else', async () => {
    const { server, smtp, config, notifierOn } = await setup();
    const alice = await withEmail(server, 'alice');
    const bob = await withEmail(server, 'bob');
    const carol = await withEmail(server, 'carol');
    // A restore from backup records what came back per account (backup/disaster-restore.ts); bob had nothing.
    const restore = await recordIncident(server.ctx.db, {
      kind: 'restore',
      userId: null,
      summary: 'Restored from backup repository r1 up to revision 40.',
      details: {
        repository: 'r1',
        seq: 40,
        users: { [alice.userId]: { items: 3, collections: 1 }, [bob.userId]: { items: 0, collections: 0 } },
      },
    });
    // A rollback cannot say whose data it lost: it touches every account that existed then.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await startNewGeneration(server.ctx.db, await readGeneration(server.ctx.db), {
      summary: 'The database came back at revision 40 after revision 45 had been committed.',
      details: { head: 40, lostFrom: 41, lostTo: 45 },
      now: Date.now(),
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const dave = await withEmail(server, 'dave');
    const rollback = (await listLedger(server.ctx.db, { limit: 100 })).find((r) => r.kind === 'rollback_detected');

    // Two notifiers on one database (on PostgreSQL, two connection pools as two servers would have).
    let second: DatabaseContext | null = null;
    if (engine === 'postgres') {
      second = await openContext(config, { databaseOnly: true, migrate: 'never' });
      const opened = second;
      cleanups.push(() => closeContext(opened));
    }
    const one = notifierOn();
    const two = notifierOn(second?.db ?? server.ctx.db);
    await Promise.all([one.runOnce(), two.runOnce(), one.runOnce(), two.runOnce()]);

    const mails = smtp?.mails ?? [];
    const to = (user: TestUser) => mails.filter((m) => m.to.includes(`${user.username}@example.org`));
    // Racing notifiers each send what they claimed, so the two mails may arrive in either order.
    const restored = 'Holdfast: The server was restored from a backup';
    const lost = 'Holdfast: The server lost recent changes; your devices can put them back';
    expect(
      to(alice)
        .map((m) => m.subject)
        .sort(),
    ).toEqual([lost, restored].sort());
    const aliceMail = (subject: string) => to(alice).find((m) => m.subject === subject)?.text;
    expect(aliceMail(restored)).toContain('Your account was in it: 3 items in 1 collection.');
    expect(aliceMail(lost)).toContain('revisions 41 to 45 were missing');
    expect(aliceMail(lost)).toContain('What came back: Nothing has come back yet.');
    expect(to(bob).map((m) => m.subject)).toEqual([lost]);
    expect(to(carol)).toHaveLength(1);
    expect(to(dave)).toEqual([]);
    expect(mails).toHaveLength(4);
    const told = await notifications(server);
    expect(told.map((n) => `${n.relatesTo}:${n.userId}:${n.status}`).sort()).toEqual(
      [
        `${restore.seq}:${alice.userId}:sent`,
        `${rollback?.seq}:${alice.userId}:sent`,
        `${rollback?.seq}:${bob.userId}:sent`,
        `${rollback?.seq}:${carol.userId}:sent`,
      ].sort(),
    );
  });

  it('records a failed delivery when the SMTP server is down, retries later and then delivers', async () => {
    const probe = await startSmtpListener();
    const port = probe.port;
    await probe.close();
    const { server, clock, config, notifierOn } = await setup(`smtp://127.0.0.1:${port}`);
    const alice = await withEmail(server, 'alice');
    const bob = await withEmail(server, 'bob', false);
    await restoreSomething(server, alice);
    await restoreSomething(server, bob);
    const notifier = notifierOn();
    await notifier.runOnce();
    expect(await notifications(server, alice.userId)).toMatchObject([
      { status: 'failed', attempts: 1, channel: 'email', error: 'ESOCKET', final: false },
    ]);
    // Someone without an address is recorded as such, once, and never retried.
    expect(await notifications(server, bob.userId)).toMatchObject([{ status: 'no_address', attempts: 0 }]);
    // Not due yet: nothing is tried before the retry interval.
    await notifier.runOnce();
    expect(await notifications(server, alice.userId)).toHaveLength(1);

    const smtp = await startSmtpListener(port);
    cleanups.push(() => smtp.close());
    clock.offset = config.notifyRetryMs + 1000;
    await notifier.runOnce();
    expect(await notifications(server, alice.userId)).toMatchObject([
      { status: 'failed', attempts: 1 },
      { status: 'sent', attempts: 2 },
    ]);
    expect(await notifications(server, bob.userId)).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]?.text).toContain('2 items came back');
  });

  it('gives up after notifyMaxAttempts and says so on the ledger', async () => {
    const probe = await startSmtpListener();
    await probe.close();
    const { server, clock, config } = await setup(`smtp://127.0.0.1:${probe.port}`);
    const alice = await withEmail(server, 'alice');
    await restoreSomething(server, alice);
    const notifier = startNotifier(
      {
        config: { ...config, smtpUrl: `smtp://127.0.0.1:${probe.port}`, notifyMaxAttempts: 2 },
        db: server.ctx.db,
        log: server.ctx.log,
        now: () => Date.now() + clock.offset,
      },
      { loop: false },
    );
    cleanups.push(() => notifier.stop());
    for (let pass = 0; pass < 4; pass++) {
      await notifier.runOnce();
      clock.offset += config.notifyRetryMs * 4;
    }
    expect(await notifications(server, alice.userId)).toMatchObject([
      { status: 'failed', attempts: 1, final: false },
      { status: 'failed', attempts: 2, final: true },
    ]);
  });
});
