import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../fixtures/moving-in/', import.meta.url));

describe('holdfast import from other services', () => {
  let dir: string;
  const cli = (args: string[], stdin?: string) =>
    runCli([...args, '--data', join(dir, 'data')], stdin === undefined ? {} : { stdin });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-moving-in-e2e-'));
    expect((await cli(['user', 'add', 'alice'], 'correct horse battery\n')).code).toBe(0);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('imports an SMS backup and a Takeout folder, again without writing, and undoes one', async () => {
    const sms = await cli(['import', '--user', 'alice', join(fixtures, 'sms-backup.xml')]);
    // The backup's draft is reported, so the exit code says something was left out.
    expect(sms.code, sms.stderr).toBe(1);
    expect(sms.stdout).toMatch(/\(sms-backup, sms-backup\.xml\): 6 created, 0 updated, 1 skipped, 1 rejected\./);
    expect(sms.stdout).toMatch(/rejected sms 5 \(line 9\): a draft, never sent; not imported/);

    const takeout = await cli(['import', '--user', 'alice', join(fixtures, 'takeout'), '--json']);
    const report = JSON.parse(takeout.stdout);
    expect(report).toMatchObject({ format: 'archive', counts: { created: 10, skipped: 1, rejected: 1 } });
    const again = await cli(['import', '--user', 'alice', join(fixtures, 'takeout')]);
    expect(again.stdout).toMatch(/: 0 created, 0 updated, 11 skipped, 1 rejected\./);
    expect(again.stdout).toMatch(/skipped +Takeout\/Keep\/Old idea\.json: in Keep's trash; not imported/);

    const undo = await cli(['import', '--user', 'alice', '--undo', report.importId]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/^Undid import .*: 10 items put back\./);
  }, 60_000);

  it('gives a large import its report as one JSON document, every item in the file order', async () => {
    // More items than the report writes to one line, so the lines must join into one document.
    const count = 2_345;
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<smses count="${count}">`];
    for (let i = 0; i < count; i++) {
      lines.push(`<sms address="+1555${i % 7}" date="${1_790_000_000_000 + i * 1000}" type="1" body="text ${i}" />`);
    }
    lines.push('</smses>');
    await writeFile(join(dir, 'large.xml'), lines.join('\n'));
    const result = await cli(['import', '--user', 'alice', join(dir, 'large.xml'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ format: 'sms-backup', counts: { created: count, skipped: 0, rejected: 0 } });
    expect(typeof report.seconds).toBe('number');
    expect(report.lastRevision - report.firstRevision + 1).toBe(count);
    expect(report.items.map((i: { source: string }) => i.source)).toEqual(
      Array.from({ length: count }, (_, i) => `sms ${i + 1} (line ${i + 3})`),
    );
  }, 60_000);
});
