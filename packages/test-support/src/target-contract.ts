import { randomBytes } from 'node:crypto';
import { type TargetFailure, targetFailure } from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetHarness } from './backup-targets.js';

/** Resolves to the target failure `promise` rejected with; fails the test if it resolved. */
export async function failureOf(promise: Promise<unknown>): Promise<TargetFailure | null> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return targetFailure(error);
  }
  throw new Error('expected the operation to fail');
}

/**
 * The contract every {@link Target} must meet (see target.ts). Each test gets
 * a fresh, empty target from `create`.
 */
export function describeTargetContract(kind: string, create: () => Promise<TargetHarness>): void {
  describe(`Target contract: ${kind}`, () => {
    let harness: TargetHarness;
    beforeEach(async () => {
      harness = await create();
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('round-trips bytes, including an empty object and a 3 MiB one', async () => {
      const { target } = harness;
      const big = randomBytes(3 * 1024 * 1024);
      await target.putObject('data/ab/one', Buffer.from('hello'));
      await target.putObject('empty', new Uint8Array(0));
      await target.putObject('big', big);
      expect(Buffer.from(await target.getObject('data/ab/one')).toString()).toBe('hello');
      expect((await target.getObject('empty')).byteLength).toBe(0);
      expect(Buffer.compare(await target.getObject('big'), big)).toBe(0);
    });

    it('treats a re-put of the same bytes as a no-op', async () => {
      const { target } = harness;
      await target.putObject('journal/x', Buffer.from('same'));
      await target.putObject('journal/x', Buffer.from('same'));
      expect(await target.listObjects('journal/')).toEqual(['journal/x']);
      expect(Buffer.from(await target.getObject('journal/x')).toString()).toBe('same');
    });

    it('refuses to overwrite an object with different bytes and keeps the original', async () => {
      const { target } = harness;
      await target.putObject('journal/x', Buffer.from('first'));
      expect(await failureOf(target.putObject('journal/x', Buffer.from('second')))).toBe('write_once');
      expect(Buffer.from(await target.getObject('journal/x')).toString()).toBe('first');
    });

    it('lets concurrent puts of the same bytes all succeed', async () => {
      const { target } = harness;
      const bytes = randomBytes(64 * 1024);
      await Promise.all(Array.from({ length: 5 }, () => target.putObject('blobs/cd/same', bytes)));
      expect(Buffer.compare(await target.getObject('blobs/cd/same'), bytes)).toBe(0);
      expect(await target.listObjects('blobs/')).toEqual(['blobs/cd/same']);
    });

    it('reports a missing object as missing, and hasObject tells present from absent', async () => {
      const { target } = harness;
      await target.putObject('snapshots/a', Buffer.from('a'));
      expect(await failureOf(target.getObject('snapshots/b'))).toBe('missing');
      expect(await target.hasObject('snapshots/a')).toBe(true);
      expect(await target.hasObject('snapshots/b')).toBe(false);
      expect(await target.hasObject('snapshots')).toBe(false);
    });

    it('lists every name under a prefix, sorted, across nesting and pages', async () => {
      const { target } = harness;
      const names = ['data/00/b', 'data/00/a', 'data/ff/c', 'journal/1', 'journal/2', 'snapshots/s', 'config'];
      for (const name of names) await target.putObject(name, Buffer.from(name));
      expect(await target.listObjects('data/')).toEqual(['data/00/a', 'data/00/b', 'data/ff/c']);
      expect(await target.listObjects('data/0')).toEqual(['data/00/a', 'data/00/b']);
      expect(await target.listObjects('journal/')).toEqual(['journal/1', 'journal/2']);
      expect(await target.listObjects('')).toEqual([...names].sort());
      expect(await target.listObjects('verifications/')).toEqual([]);
    });

    it('rejects names that could escape the target or hide as temporary files', async () => {
      const { target } = harness;
      for (const name of ['', '../x', 'a/../b', '/abs', 'a//b', '.hidden', 'a/.tmp', 'a b', 'a/', 'x\\y']) {
        expect(await failureOf(target.putObject(name, Buffer.from('x'))), name).toBe('invalid_name');
      }
      expect(await failureOf(target.listObjects('../'))).toBe('invalid_name');
    });

    it('deletes objects, and deleting an absent one succeeds', async () => {
      const { target } = harness;
      await target.putObject('keys/k', Buffer.from('k'));
      await target.deleteObject('keys/k');
      await target.deleteObject('keys/k');
      expect(await target.hasObject('keys/k')).toBe(false);
      expect(await target.listObjects('keys/')).toEqual([]);
    });

    it('reports free space as a non-negative number or null', async () => {
      const space = await harness.target.freeSpace();
      expect(space === null || (Number.isFinite(space) && space >= 0)).toBe(true);
    });

    it('fails with unavailable, never an empty list or "absent", when the target cannot be reached', async () => {
      const { target } = harness;
      await target.putObject('journal/x', Buffer.from('x'));
      await harness.breakTarget();
      expect(await failureOf(target.listObjects(''))).toBe('unavailable');
      expect(await failureOf(target.listObjects('journal/'))).toBe('unavailable');
      expect(await failureOf(target.getObject('journal/x'))).toBe('unavailable');
      expect(await failureOf(target.hasObject('journal/x'))).toBe('unavailable');
      expect(await failureOf(target.putObject('journal/y', Buffer.from('y')))).toBe('unavailable');
    });
  });
}
