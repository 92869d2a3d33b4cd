import { appendFile, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, type Repository, writeJournalSegment } from '@holdfast/backup';
import { createTestRepository, put } from '@holdfast/test-support/backup-fixtures';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  loadSegmentCache,
  rememberLayout,
  rememberSegment,
  type SegmentInfo,
  saveSegmentCache,
  scanRepository,
} from './repository-view.js';

function info(toSeq: number, prev: string | null): SegmentInfo {
  return {
    generation: 'g1',
    fromSeq: toSeq,
    toSeq,
    prev,
    createdAt: new Date(1_800_000_000_000 + toSeq).toISOString(),
    blobs: {},
    revisions: 1,
  };
}

describe('the segment cache file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-cache-'));
    file = join(dir, 'backup-cache', 'repo.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('grows by what was learned since the last save and loads back every fact', async () => {
    const cache = await loadSegmentCache(file);
    rememberSegment(cache, 'journal/a', info(1, null));
    rememberSegment(cache, 'journal/b', info(2, 'journal/a'));
    await saveSegmentCache(cache);
    const first = await readFile(file, 'utf8');

    rememberSegment(cache, 'journal/c', info(3, 'journal/b'));
    rememberLayout(cache, {
      snapshot: 'snapshots/s',
      objects: [{ object: 'data/x', entries: [{ key: 'k', seq: 3 }] }],
    });
    await saveSegmentCache(cache);
    const second = await readFile(file, 'utf8');
    // The facts already saved are not written again: the file only gained the new ones.
    expect(second.startsWith(first)).toBe(true);
    expect(second.slice(first.length).trim().split('\n')).toHaveLength(2);
    await saveSegmentCache(cache);
    expect(await readFile(file, 'utf8')).toBe(second);

    // What this process wrote is kept in the file, not in memory.
    expect(cache.segments.size).toBe(0);
    const loaded = await loadSegmentCache(file);
    expect([...loaded.segments.keys()]).toEqual(['journal/a', 'journal/b', 'journal/c']);
    expect(loaded.segments.get('journal/c')).toEqual(info(3, 'journal/b'));
    expect(loaded.layout?.snapshot).toBe('snapshots/s');
  });

  it('keeps what a failed save did not write for the next one', async () => {
    const cache = await loadSegmentCache(file);
    rememberSegment(cache, 'journal/a', info(1, null));
    await saveSegmentCache(cache);
    rememberSegment(cache, 'journal/b', info(2, 'journal/a'));
    // The file is replaced by a directory for a moment: the append fails.
    const saved = await readFile(file, 'utf8');
    await rm(file);
    await mkdir(file);
    await expect(saveSegmentCache(cache)).rejects.toThrow();
    await rm(file, { recursive: true });
    await writeFile(file, saved);
    rememberSegment(cache, 'journal/c', info(3, 'journal/b'));
    await saveSegmentCache(cache);
    const loaded = await loadSegmentCache(file);
    expect([...loaded.segments.keys()]).toEqual(['journal/a', 'journal/b', 'journal/c']);
    expect(loaded.rewrite).toBe(false);
  });

  it('skips a line cut short by a crash, and writes the file whole at the next save', async () => {
    const cache = await loadSegmentCache(file);
    rememberSegment(cache, 'journal/a', info(1, null));
    await saveSegmentCache(cache);
    await appendFile(file, '["segment","journal/b",{"generation":"g1","fro');

    const loaded = await loadSegmentCache(file);
    expect([...loaded.segments.keys()]).toEqual(['journal/a']);
    rememberSegment(loaded, 'journal/c', info(3, null));
    await saveSegmentCache(loaded);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line)[1])).toEqual(['journal/a', 'journal/c']);
  });

  it('reads a cache written as one JSON object and rewrites it a fact per line', async () => {
    await mkdir(join(dir, 'backup-cache'));
    await writeFile(file, JSON.stringify({ segments: { 'journal/a': info(1, null) }, accounts: {}, layout: null }));

    const loaded = await loadSegmentCache(file);
    expect(loaded.segments.get('journal/a')).toEqual(info(1, null));
    await saveSegmentCache(loaded);
    expect(JSON.parse((await readFile(file, 'utf8')).trim())).toEqual(['segment', 'journal/a', info(1, null)]);
  });

  describe('with a repository', () => {
    let target: DirectoryTarget;
    let repo: Repository;
    beforeEach(async () => {
      const root = join(dir, 'target');
      await mkdir(root);
      target = new DirectoryTarget(root);
      repo = await createTestRepository(target);
    });

    it('drops the facts of segments no longer in the repository, and reads only segments it has not seen', async () => {
      const one = await writeJournalSegment(repo, { generation: 'g1', prev: null, revisions: [put(1, 'a', 'A')] });
      const two = await writeJournalSegment(repo, {
        generation: 'g1',
        prev: { object: one.object, toSeq: 1 },
        revisions: [put(2, 'b', 'B')],
      });
      const cache = await loadSegmentCache(file);
      const view = await scanRepository(repo, cache);
      expect(view.segments.size).toBe(2);
      await saveSegmentCache(cache);
      expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
      // Written whole once, the file holds them: memory need not.
      expect(cache.segments.size).toBe(0);

      // A prune removed the first segment.
      await unlink(join(dir, 'target', ...one.object.split('/')));
      const again = await loadSegmentCache(file);
      const after = await scanRepository(repo, again);
      expect([...after.segments.keys()]).toEqual([two.object]);
      await saveSegmentCache(again);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      expect(lines.map((line) => JSON.parse(line)[1])).toEqual([two.object]);
    });
  });
});
