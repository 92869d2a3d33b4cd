/** The high-water mark file beside the database: written whole, whoever else writes it at the same time. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHighWaterMark } from './lineage.js';

describe('high-water mark file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('survives two writers flushing at once, leaving one whole mark and no temporary files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-mark-'));
    const first = await createHighWaterMark(dir, 'lineage-a', 1);
    const second = await createHighWaterMark(dir, 'lineage-a', 1);
    for (let seq = 2; seq < 40; seq++) {
      first.note(seq);
      second.note(seq);
      await Promise.all([first.flush(), second.flush()]);
    }
    await Promise.all([first.close(), second.close()]);
    const mark = JSON.parse(await readFile(join(dir, 'lineage.json'), 'utf8')) as { generation: string; seq: number };
    expect(mark).toMatchObject({ generation: 'lineage-a', seq: 39 });
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
