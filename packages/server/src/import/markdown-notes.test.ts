import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, engines } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import yazl from 'yazl';
import { readHead } from '../store/revision-log.js';
import { type FormatsFixture, listContents, startFormatsFixture } from '../test-support/accounts.js';
import { undoImport } from './import-undo.js';
import { titleOf } from './markdown-notes.js';

/** A vault as note apps leave it: front matter, headings, a subfolder, and app settings to leave alone. */
const FILES: Record<string, string> = {
  'Groceries.md':
    '---\ntitle: "Weekly shop"\ntags: [home, food]\ncreated: 2024-03-02T10:15:00Z\n---\n- milk\n- rye bread\n',
  'Projects/Shed.md': '# Shed plans\r\n\r\n- 2.4 m × 1.8 m\r\n- **treated** timber\r\n',
  'Projects/untitled idea.markdown': 'just a thought, no heading\n',
  '.obsidian/workspace.md': 'not a note\n',
  'attachments/sketch.png': 'not markdown',
};

describe.each(engines)('Markdown notes import on %s', (engine) => {
  let f: FormatsFixture;
  let vault: string;
  let zip: string;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    vault = join(f.dir, 'vault');
    const archive = new yazl.ZipFile();
    for (const [name, text] of Object.entries(FILES)) {
      await mkdir(join(vault, name, '..'), { recursive: true });
      await writeFile(join(vault, name), text);
      archive.addBuffer(Buffer.from(text), `vault/${name}`);
    }
    zip = join(f.dir, 'vault.zip');
    const out = createWriteStream(zip);
    archive.outputStream.pipe(out);
    archive.end();
    await once(out, 'close');
  });
  afterAll(async () => f.close());

  test('a folder of .md files becomes notes, front matter kept; again writes nothing; undo takes them back', async () => {
    const user = await addUser(f.server);
    const report = await f.import(vault, {}, user);
    expect(report.format).toBe('markdown-notes');
    expect(report.items.map((i) => [i.source, i.status])).toEqual([
      ['Groceries.md', 'created'],
      ['Projects/Shed.md', 'created'],
      ['Projects/untitled idea.markdown', 'created'],
    ]);
    expect(report.collectionsCreated.map((c) => [c.type, c.name])).toEqual([['notes', 'Notes']]);
    const notes = [...(await listContents(f.server, user, report.items[0]?.collectionId ?? '')).values()];
    expect(notes).toEqual(
      expect.arrayContaining([
        { title: 'Weekly shop', body: FILES['Groceries.md'] },
        { title: 'Shed plans', body: FILES['Projects/Shed.md'] },
        { title: 'untitled idea', body: FILES['Projects/untitled idea.markdown'] },
      ]),
    );

    const head = await readHead(f.server.ctx.db.kysely);
    const again = await f.import(vault, {}, user);
    expect(again.counts).toEqual({ created: 0, updated: 0, skipped: 3, rejected: 0 });
    expect(await readHead(f.server.ctx.db.kysely)).toBe(head);

    await undoImport(f.server.ctx, { userId: user.userId, deviceId: user.deviceId }, report.importId);
    expect((await listContents(f.server, user, report.items[0]?.collectionId ?? '')).size).toBe(0);
  });

  test('a ZIP of the same vault gives the same notes, and is not taken for a Holdfast export', async () => {
    const user = await addUser(f.server);
    const report = await f.import(zip, {}, user);
    expect(report.format).toBe('markdown-notes');
    expect(report.items.map((i) => [i.source, i.status])).toEqual([
      ['vault/Groceries.md', 'created'],
      ['vault/Projects/Shed.md', 'created'],
      ['vault/Projects/untitled idea.markdown', 'created'],
    ]);
    // The folder after the ZIP: the same notes, nothing new.
    const folder = await f.import(vault, {}, user);
    expect(folder.counts).toEqual({ created: 0, updated: 0, skipped: 3, rejected: 0 });
  });

  test('titles: front matter, then the first heading, then the file name', () => {
    expect(titleOf("---\ntitle: 'Quoted'\n---\n# Heading\n", 'a.md')).toBe('Quoted');
    expect(titleOf('---\ntags: [x]\n---\n\n# Heading ##\n', 'a.md')).toBe('Heading');
    expect(titleOf('## not level one\n', 'dir/Plain name.md')).toBe('Plain name');
  });
});
