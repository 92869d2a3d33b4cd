import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directoryHarness } from '@holdfast/test-support/backup-targets';
import { describeTargetContract, failureOf } from '@holdfast/test-support/target-contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryTarget, fsFailure } from './directory-target.js';
import { stopFileWriterThread } from './file-writer-thread.js';

describeTargetContract('DirectoryTarget', directoryHarness);

describe('DirectoryTarget', () => {
  let base: string;
  let root: string;
  let target: DirectoryTarget;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'holdfast-dir-'));
    root = join(base, 'repo');
    await mkdir(root);
    target = new DirectoryTarget(root);
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('stores names as nested files and leaves no temporary files behind', async () => {
    await target.putObject('data/ab/abc', Buffer.from('x'));
    expect(await readdir(join(root, 'data', 'ab'))).toEqual(['abc']);
    expect((await stat(join(root, 'data', 'ab', 'abc'))).mode & 0o777).toBe(0o600);
  });

  it('never creates its root, so an unmounted disk fails instead of filling the mount point', async () => {
    const unmounted = new DirectoryTarget(join(base, 'not-mounted'));
    expect(await failureOf(unmounted.putObject('config', Buffer.from('x')))).toBe('unavailable');
    expect(await failureOf(unmounted.listObjects(''))).toBe('unavailable');
    await expect(stat(join(base, 'not-mounted'))).rejects.toThrow();
  });

  it('keeps storing when its writer thread is lost, and then uses a new one', async () => {
    await target.putObject('journal/a', Buffer.from('a'));
    // Posted to the thread, which is then stopped, whether or not it got as far as writing.
    const during = target.putObject('journal/b', Buffer.from('b'));
    const stopping = stopFileWriterThread();
    // Goes to a new thread while the old one is still stopping.
    const after = target.putObject('journal/c', Buffer.from('c'));
    await stopping;
    await Promise.all([during, after]);
    expect(await target.listObjects('journal/')).toEqual(['journal/a', 'journal/b', 'journal/c']);
    expect(Buffer.from(await target.getObject('journal/b')).toString()).toBe('b');
    expect(await readdir(join(root, 'journal'))).toEqual(['a', 'b', 'c']);
  });

  it('answers a name that exists with other bytes as write-once, and leaves no temporary file', async () => {
    await target.putObject('journal/a', Buffer.from('first'));
    expect(await failureOf(target.putObject('journal/a', Buffer.from('other')))).toBe('write_once');
    await target.putObject('journal/a', Buffer.from('first'));
    expect(await readdir(join(root, 'journal'))).toEqual(['a']);
  });

  it('sorts a file-system error met on the writer thread into its kind', async () => {
    // A file where the object's directory should be: the thread's open fails with ENOTDIR, not "missing".
    await writeFile(join(root, 'journal'), 'not a directory');
    expect(await failureOf(target.putObject('journal/a', Buffer.from('a')))).toBe('unavailable');
  });

  it('hides temporary and stray files from listings', async () => {
    await target.putObject('journal/a', Buffer.from('a'));
    await writeFile(join(root, 'journal', '.a.123.tmp'), 'partial');
    await writeFile(join(root, 'journal', 'a copy'), 'stray');
    expect(await target.listObjects('')).toEqual(['journal/a']);
  });

  it('throws when a directory on the listing path is not a directory', async () => {
    await writeFile(join(root, 'snapshots'), 'not a directory');
    expect(await failureOf(target.listObjects('snapshots/'))).toBe('unavailable');
  });

  it('classifies a full disk as full and other I/O errors as unavailable', () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    expect(fsFailure(error('ENOSPC'))).toBe('full');
    expect(fsFailure(error('EDQUOT'))).toBe('full');
    expect(fsFailure(error('EIO'))).toBe('unavailable');
    expect(fsFailure(error('EACCES'))).toBe('unavailable');
  });
});
