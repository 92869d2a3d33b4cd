import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const contacts = [
  'BEGIN:VCARD',
  'VERSION:2.1',
  'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen',
  'TEL;CELL:+49 170 1234567',
  'EMAIL;INTERNET:jm@example.de',
  'END:VCARD',
  'BEGIN:VCARD',
  'VERSION:3.0',
  'UID:grace',
  'FN:Grace Hopper',
  'NICKNAME:Amazing Grace',
  'TEL;TYPE=WORK:+1 555 0100',
  'ADR;TYPE=WORK:;;1 Navy Way;Arlington;VA;22201;USA',
  'END:VCARD',
  'BEGIN:VCARD',
  'VERSION:3.0',
  'FN:G. Hopper',
  'TEL:+1 (555) 0100',
  'END:VCARD',
  '',
].join('\r\n');

const calendar = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//E2E//EN',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20240101T000000Z',
  'DTSTART:20240105T090000Z',
  'RRULE:FREQ=WEEKLY;COUNT=5',
  'SUMMARY:Weekly',
  'END:VEVENT',
  'BEGIN:VTODO',
  'UID:todo',
  'SUMMARY:Taxes',
  'END:VTODO',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('holdfast export / import / verify-export / contacts', () => {
  let dir: string;
  const cli = (args: string[], stdin?: string) =>
    runCli([...args, '--data', join(dir, 'data')], stdin === undefined ? {} : { stdin });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-export-e2e-'));
    await writeFile(join(dir, 'phone.vcf'), contacts);
    await writeFile(join(dir, 'work.ics'), calendar);
    expect((await cli(['user', 'add', 'alice'], 'correct horse battery\n')).code).toBe(0);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('imports once, exports a bundle that verifies, and finds the duplicate', async () => {
    const first = await cli(['import', '--user', 'alice', join(dir, 'phone.vcf')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/: 3 created, 0 updated, 0 skipped, 0 rejected\./);
    const again = await cli(['import', '--user', 'alice', join(dir, 'phone.vcf')]);
    expect(again.stdout).toMatch(/: 0 created, 0 updated, 3 skipped, 0 rejected\./);
    const events = await cli(['import', '--user', 'alice', join(dir, 'work.ics'), '--json']);
    expect(JSON.parse(events.stdout).items.map((i: { type: string }) => i.type)).toEqual(['calendar', 'tasks']);

    const out = join(dir, 'alice.zip');
    const exported = await cli(['export', '--user', 'alice', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^Wrote .*alice.zip \(\d+ bytes\): 3 collections, 5 items, as of revision \d+\./);
    expect(exported.stdout).toMatch(/contacts\/Contacts.vcf: items 3, .*tel 3/);
    expect((await stat(out)).size).toBeGreaterThan(0);

    const verified = await cli(['verify-export', out, '--user', 'alice']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('Bundle: every file, item and field count matches the manifest.');
    expect(verified.stdout).toContain('every item and field matches the export.');

    const duplicates = await cli(['contacts', 'duplicates', '--user', 'alice']);
    expect(duplicates.stdout).toMatch(/1\. Likely the same person \(same phone \+15550100/);
    expect(duplicates.stdout).toMatch(/Grace Hopper "Amazing Grace"/);
    expect(duplicates.stdout).toContain('Nothing was merged.');
  }, 120_000);

  it('verify-export against a running server reports what changed since, by field, and exits 1', async () => {
    const out = join(dir, 'alice.zip');
    const server = await startServerProcess(['--data', join(dir, 'data')]);
    try {
      const login = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'correct horse battery', deviceName: 'laptop' },
      });
      const token = login.body.token as string;
      const clean = await cli(['verify-export', out, '--server', server.url, '--token', token]);
      expect(clean.code, clean.stderr).toBe(0);

      const collections = (await api(server.url, 'GET', '/v1/collections', { token })).body.collections;
      const contactsId = collections.find((c: { type: string }) => c.type === 'contacts').id;
      const items = (await api(server.url, 'GET', `/v1/collections/${contactsId}/items`, { token })).body.items;
      const grace = items.find((i: { content: string }) => i.content.includes('UID:grace'));
      const pushed = await api(server.url, 'POST', '/v1/push', {
        token,
        body: {
          changes: [
            {
              clientChangeId: 'drop-phone',
              collectionId: contactsId,
              itemId: grace.id,
              op: 'put',
              baseRevision: grace.revision,
              content: grace.content.replace('TEL;TYPE=WORK:+1 555 0100\r\n', ''),
            },
          ],
        },
      });
      expect(pushed.body.results[0].status).toBe('applied');
      const changed = await cli(['verify-export', out, '--server', server.url, '--token', token]);
      expect(changed.code).toBe(1);
      expect(changed.stderr).toMatch(
        /item .* \(Grace Hopper\) \(revision \d+ → \d+\): missing in the account: TEL;TYPE=WORK: \+1 555 0100/,
      );
      expect(changed.stderr).toContain('MISMATCH');

      // The same export over HTTP, then back into a new account with the command line.
      const response = await fetch(`${server.url}/v1/export`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.headers.get('content-type')).toBe('application/zip');
      const httpZip = join(dir, 'http.zip');
      await writeFile(httpZip, Buffer.from(await response.arrayBuffer()));
      expect((await cli(['verify-export', httpZip, '--server', server.url, '--token', token])).code).toBe(0);
    } finally {
      await server.stop();
    }
    expect((await cli(['user', 'add', 'bob'], 'another good password\n')).code).toBe(0);
    const restored = await cli(['import', '--user', 'bob', join(dir, 'http.zip')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/: 5 created, 0 updated, 0 skipped, 0 rejected\./);
  }, 120_000);

  it('lists and undoes imports, and explains bad usage', async () => {
    const list = await cli(['import', '--user', 'alice', '--list']);
    const ids = list.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0]);
    expect(ids.length).toBe(3);
    const undo = await cli(['import', '--user', 'alice', '--undo', ids.at(-1) as string]);
    expect(undo.stdout).toMatch(/^Undid import .*: 2 items put back\./);
    expect(undo.stdout).toMatch(/kept .*: changed after the import/);
    const usage = await cli(['export', '--user', 'alice']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Usage: holdfast export --user NAME --out FILE.zip/);
    const broken = join(dir, 'broken.zip');
    await writeFile(broken, (await readFile(join(dir, 'alice.zip'))).subarray(0, 300));
    const bad = await cli(['verify-export', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a ZIP file/);
  }, 120_000);
});
