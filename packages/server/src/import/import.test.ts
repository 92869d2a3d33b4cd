import { AppError } from '@holdfast/protocol';
import { addUser, engines, vcard, vevent, vtodo } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readHead } from '../store/revision-log.js';
import { type FormatsFixture, listContents, startFormatsFixture } from '../test-support/accounts.js';
import { undoImport } from './import-undo.js';

const noUid = (name: string) =>
  ['BEGIN:VCARD', 'VERSION:3.0', `FN:${name}`, `TEL:+1 555 ${name.length}`, 'END:VCARD', ''].join('\r\n');

describe.each(engines)('import on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  test('stores each card as its own text, reports every item, and a second import writes nothing', async () => {
    const user = await addUser(f.server);
    const text = `${vcard('u1', 'Ada Lovelace')}${vcard('u2', 'Grace Hopper')}${noUid('No Uid')}`;
    const path = await f.file('three.vcf', text);
    const first = await f.import(path, {}, user);
    expect(first.counts).toEqual({ created: 3, updated: 0, skipped: 0, rejected: 0 });
    expect(first.items.map((i) => [i.source, i.status, i.uid])).toEqual([
      ['card 1 (line 1)', 'created', 'u1'],
      ['card 2 (line 10)', 'created', 'u2'],
      ['card 3 (line 19)', 'created', null],
    ]);
    const [collection] = first.collectionsCreated;
    expect(collection).toMatchObject({ type: 'contacts', name: 'Contacts' });
    const stored = await listContents(f.server, user, collection?.id ?? '');
    expect([...stored.values()].sort()).toEqual(
      [vcard('u1', 'Ada Lovelace'), vcard('u2', 'Grace Hopper'), noUid('No Uid')].sort(),
    );

    const head = await readHead(f.server.ctx.db.kysely);
    const second = await f.import(path, {}, user);
    expect(second.counts).toEqual({ created: 0, updated: 0, skipped: 3, rejected: 0 });
    expect(second.collectionsCreated).toEqual([]);
    expect(second.firstRevision).toBeNull();
    expect(await readHead(f.server.ctx.db.kysely)).toBe(head);
  });

  test('matches by UID (updating) and otherwise by content; one file never updates its own cards', async () => {
    const user = await addUser(f.server);
    await f.import(await f.file('a.vcf', vcard('u1', 'Ada Lovelace')), {}, user);
    const changed = vcard('u1', 'Ada Lovelace', '+44 20 7946 0000');
    const twice = vcard('u9', 'Twin A') + vcard('u9', 'Twin B') + vcard('u9', 'Twin A');
    const report = await f.import(await f.file('b.vcf', changed + twice), {}, user);
    expect(report.items.map((i) => [i.status, i.reason ?? ''])).toEqual([
      ['updated', expect.stringMatching(/^same UID; replaced revision \d+ \(kept in its history\)$/)],
      ['created', ''],
      [
        'created',
        expect.stringMatching(/^1 item\(s\) with this UID already \(card 2 \(line 10\)\); kept as a separate item$/),
      ],
      ['skipped', 'the same as card 2 (line 10) of this import'],
    ]);
    const contents = [...(await listContents(f.server, user, report.items[0]?.collectionId ?? '')).values()];
    expect(contents).toContain(changed);
    expect(contents).toHaveLength(3);
  });

  test('one contiguous batch of revisions, recorded with its import id, all or nothing', async () => {
    const user = await addUser(f.server);
    const report = await f.import(await f.file('c.vcf', vcard('x1', 'One') + vcard('x2', 'Two')), {}, user);
    const row = await f.server.ctx.db.kysely
      .selectFrom('imports')
      .selectAll()
      .where('id', '=', report.importId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: user.userId, source: 'c.vcf', format: 'vcard', created: 2, rejected: 0 });
    const revisions = await f.server.ctx.db.kysely
      .selectFrom('revisions')
      .select(['seq', 'origin', 'client_change_id', 'device_id'])
      .where('seq', '>=', row.first_seq as number)
      .where('seq', '<=', row.last_seq as number)
      .orderBy('seq')
      .execute();
    // The new collection and both items, one after the other.
    expect(revisions.map((r) => r.seq)).toEqual([
      report.firstRevision,
      (report.firstRevision ?? 0) + 1,
      report.lastRevision,
    ]);
    expect(revisions.map((r) => r.origin)).toEqual(['import', 'import', 'import']);
    expect(revisions.slice(1).map((r) => r.client_change_id)).toEqual([
      `import:${report.importId}`,
      `import:${report.importId}`,
    ]);
  });

  test('a rejected card leaves nothing of itself; the others are stored', async () => {
    const user = await addUser(f.server);
    const bad = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN;X-BROKEN="unclosed:value\r\nEND:VCARD\r\n';
    const report = await f.import(
      await f.file('d.vcf', vcard('ok1', 'Fine') + bad + vcard('ok2', 'Also Fine')),
      {},
      user,
    );
    expect(report.items.map((i) => i.status)).toEqual(['created', 'rejected', 'created']);
    expect(report.items[1]?.reason).toMatch(/^not a vCard: line 3: .*never closed/);
    const stored = await listContents(f.server, user, report.items[0]?.collectionId ?? '');
    expect([...stored.values()].sort()).toEqual([vcard('ok1', 'Fine'), vcard('ok2', 'Also Fine')].sort());
  });

  test('events go to a calendar and tasks to a task list; --collection puts them where asked or says why not', async () => {
    const user = await addUser(f.server);
    const ics = `${vevent('e1', 'Standup').replace('END:VCALENDAR\r\n', '')}${vtodo('t1', 'Taxes').replace(/^[\s\S]*?BEGIN:VTODO/, 'BEGIN:VTODO')}`;
    const report = await f.import(await f.file('mixed.ics', ics), {}, user);
    expect(report.items.map((i) => [i.type, i.status, i.uid])).toEqual([
      ['calendar', 'created', 'e1'],
      ['tasks', 'created', 't1'],
    ]);
    expect(report.collectionsCreated.map((c) => c.type).sort()).toEqual(['calendar', 'tasks']);

    const contacts = await f.collection('contacts', 'Work', user);
    const into = await f.import(await f.file('w.vcf', vcard('w1', 'Colleague')), { collectionId: contacts }, user);
    expect(into.items[0]).toMatchObject({ status: 'created', collectionId: contacts });
    const wrong = await f.import(await f.file('e.ics', vevent('e2', 'Party')), { collectionId: contacts }, user);
    expect(wrong.items[0]).toMatchObject({
      status: 'rejected',
      reason: `a calendar item cannot go into contacts collection ${contacts}`,
    });
    const missing = await f.import(await f.file('x.vcf', vcard('w2', 'Nobody')), { collectionId: 'no-such' }, user);
    expect(missing.items[0]).toMatchObject({ status: 'rejected', reason: 'no collection no-such' });
  });

  test('a file that is none of the formats is refused as a whole', async () => {
    const path = await f.file('notes.txt', 'hello, this is not a contact');
    await expect(f.import(path)).rejects.toThrow(AppError);
    await expect(f.import(path)).rejects.toThrow(
      /notes.txt is not a file Holdfast imports: a vCard \(.vcf\), iCalendar \(.ics\), Holdfast export \(.zip\), SMS/,
    );
  });

  test('undo takes an import back as a unit, keeping later edits, and only once', async () => {
    const user = await addUser(f.server);
    const owner = { userId: user.userId, deviceId: user.deviceId };
    await f.import(await f.file('base.vcf', vcard('k1', 'Kept') + vcard('k2', 'Edited Later')), {}, user);
    const report = await f.import(
      await f.file(
        'next.vcf',
        vcard('k1', 'Kept', '+1 999') + vcard('k2', 'Edited Later', '+1 888') + vcard('n1', 'New'),
      ),
      {},
      user,
    );
    expect(report.counts).toMatchObject({ created: 1, updated: 2 });
    const collectionId = report.items[0]?.collectionId ?? '';
    const k2 = report.items[1]?.itemId ?? '';
    const later = await f.server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: user.auth,
      payload: {
        changes: [
          {
            clientChangeId: 'edit-k2',
            collectionId,
            itemId: k2,
            op: 'put',
            baseRevision: report.items[1] ? (report.lastRevision ?? 0) - 1 : 0,
            content: vcard('k2', 'Edited Later', '+1 777'),
          },
        ],
      },
    });
    expect(later.json().results[0].status).toBe('applied');

    const undone = await undoImport(f.server.ctx, owner, report.importId);
    expect(undone.undone).toBe(2);
    expect(undone.kept).toEqual([{ itemId: k2, reason: expect.stringMatching(/^changed after the import/) }]);
    const contents = [...(await listContents(f.server, user, collectionId)).values()].sort();
    expect(contents).toEqual([vcard('k1', 'Kept'), vcard('k2', 'Edited Later', '+1 777')].sort());
    await expect(undoImport(f.server.ctx, owner, report.importId)).rejects.toThrow(/already been undone/);
    await expect(undoImport(f.server.ctx, owner, 'no-such-import')).rejects.toThrow(/No import/);
  });
});
