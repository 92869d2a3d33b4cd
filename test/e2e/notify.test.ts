import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { startSmtpListener } from '@holdfast/test-support/smtp-listener';
import { describe, expect, it } from 'vitest';

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('telling people, end to end', () => {
  it('sets addresses from the command line, and a restore made while no server ran is mailed once one starts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-notify-'));
    const smtp = await startSmtpListener();
    try {
      const data = ['--data', dataDir];
      const added = await runCli(['user', 'add', 'erin', '--email', 'erin@example.org', ...data], {
        stdin: 'erin-password\n',
      });
      expect(added.code, added.stderr).toBe(0);
      expect((await runCli(['user', 'add', 'finn', ...data], { stdin: 'finn-password\n' })).code).toBe(0);
      const set = await runCli(['user', 'email', 'finn', 'finn@example.org', ...data]);
      expect(set.stdout).toContain('finn is told at finn@example.org');
      const list = JSON.parse((await runCli(['user', 'list', '--json', ...data])).stdout);
      expect(list.map((u: { username: string; email: string }) => [u.username, u.email])).toEqual([
        ['erin', 'erin@example.org'],
        ['finn', 'finn@example.org'],
      ]);
      expect((await runCli(['user', 'email', 'finn', 'none', ...data])).stdout).toContain('finn has no e-mail address');
      const bad = await runCli(['user', 'email', 'finn', 'not-an-address', ...data]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('Invalid e-mail address');
      expect((await runCli(['doctor', ...data])).stdout).toContain('Mail: off (smtpUrl is empty)');

      let good: number;
      const first = await startServerProcess(data);
      try {
        const token = (
          await api(first.url, 'POST', '/v1/auth/login', { body: { username: 'erin', password: 'erin-password' } })
        ).body.token;
        const collectionId = (
          await api(first.url, 'POST', '/v1/collections', { token, body: { type: 'notes', name: 'Journal' } })
        ).body.id;
        const note = (body: string, baseRevision: number | null) => ({
          clientChangeId: `a-${body}`,
          collectionId,
          itemId: 'a',
          op: 'put',
          baseRevision,
          content: { title: 'a', body },
        });
        const pushed = await api(first.url, 'POST', '/v1/push', { token, body: { changes: [note('original', null)] } });
        good = (await api(first.url, 'GET', '/v1/me', { token })).body.head;
        await api(first.url, 'POST', '/v1/push', {
          token,
          body: { changes: [note('overwritten', pushed.body.results[0].revision)] },
        });
      } finally {
        await first.stop();
      }
      const restored = await runCli(['restore-to', '--user', 'erin', '--revision', String(good), '--yes', ...data]);
      expect(restored.code, restored.stderr).toBe(0);

      const mailOn = [...data, '--smtp-url', smtp.url, '--notify-poll-ms', '200', '--portal-url', 'https://h.example'];
      expect((await runCli(['doctor', ...mailOn])).stdout).toContain(
        `Mail: on, through smtp://127.0.0.1:${smtp.port} ok`,
      );
      const second = await startServerProcess(mailOn);
      try {
        expect(await waitFor(() => smtp.mails.length > 0, 20_000)).toBe(true);
        const [mail] = smtp.mails;
        expect(mail?.to).toEqual(['erin@example.org']);
        expect(mail?.text).toContain('1 item came back as it was then');
        expect(mail?.text).toContain('Your data across your whole account was put back');
        expect(mail?.text).toContain('https://h.example/');
      } finally {
        await second.stop();
      }
      expect(smtp.mails).toHaveLength(1);
      const ledger = await runCli(['ledger', 'list', '--user', 'erin', '--json', ...data]);
      expect(ledger.stdout).toContain('"notification"');
    } finally {
      await smtp.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
