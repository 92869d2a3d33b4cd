import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDir } from '@holdfast/node-io';
import { afterEach, describe, expect, it } from 'vitest';
import { createDirSync } from './dir-sync.js';

describe('shared directory fsyncs', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Real fsyncs, each logged when it starts and when it ends; the first one ends only once `hold` settles. */
  function counted(log: string[], hold: Promise<void> = Promise.resolve()) {
    let n = 0;
    return async (path: string) => {
      const id = ++n;
      log.push(`start ${id}`);
      await fsyncDir(path);
      if (id === 1) await hold;
      log.push(`end ${id}`);
    };
  }

  it('serves callers that arrive during an fsync with one more, started after it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-dirsync-'));
    const log: string[] = [];
    // The first fsync is kept running until the later callers have arrived: a fast disk would otherwise finish it
    // while the entry below is written, and the test would measure the disk, not the sharing.
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sync = createDirSync(counted(log, hold));
    await writeFile(join(dir, 'a'), 'a');
    const first = sync(dir);
    // These entries were made after the first fsync started: it may not cover them.
    await writeFile(join(dir, 'b'), 'b');
    const later = Array.from({ length: 20 }, () => sync(dir));
    release();
    await Promise.all([first, ...later]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    // Nothing running: the next caller gets its own.
    await sync(dir);
    expect(log).toHaveLength(6);
  });

  it('keeps directories apart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-dirsync-'));
    const log: string[] = [];
    const sync = createDirSync(counted(log));
    await Promise.all([sync(dir), sync(tmpdir())]);
    expect(log.filter((line) => line.startsWith('start'))).toHaveLength(2);
  });

  it('a failed fsync fails its callers, and the next callers get a fresh one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-dirsync-'));
    const missing = join(dir, 'missing');
    const sync = createDirSync();
    const first = sync(missing);
    const second = sync(missing);
    await expect(first).rejects.toThrow(/ENOENT/);
    await expect(second).rejects.toThrow(/ENOENT/);
    await expect(sync(dir)).resolves.toBeUndefined();
  });
});
