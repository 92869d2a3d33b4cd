import { s3Harness } from '@holdfast/test-support/backup-targets';
import { startS3, type TestS3 } from '@holdfast/test-support/s3rver';
import { describeTargetContract, failureOf } from '@holdfast/test-support/target-contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3Target, s3Failure } from './s3-target.js';

describeTargetContract('S3Target', s3Harness);

describe('S3Target', () => {
  let s3: TestS3;
  beforeEach(async () => {
    s3 = await startS3();
  });
  afterEach(async () => {
    await s3.cleanup();
  });

  it('keeps to its prefix: objects outside it are neither listed nor readable', async () => {
    const outside = new S3Target({ bucket: s3.bucket, client: s3.clientConfig });
    const inside = new S3Target({ bucket: s3.bucket, prefix: 'a/', client: s3.clientConfig, listPageSize: 1 });
    await outside.putObject('b/journal/x', Buffer.from('other'));
    await outside.putObject('a-journal', Buffer.from('other'));
    await inside.putObject('journal/x', Buffer.from('mine'));
    expect(await inside.listObjects('')).toEqual(['journal/x']);
    expect(await outside.listObjects('')).toEqual(['a-journal', 'a/journal/x', 'b/journal/x']);
    expect(Buffer.from(await inside.getObject('journal/x')).toString()).toBe('mine');
    await inside.close();
    await outside.close();
  });

  it('reports a missing bucket as unavailable, never as an absent object or an empty list', async () => {
    const target = new S3Target({ bucket: 'no-such-bucket', client: s3.clientConfig });
    expect(await failureOf(target.hasObject('config'))).toBe('unavailable');
    expect(await failureOf(target.getObject('config'))).toBe('unavailable');
    expect(await failureOf(target.listObjects(''))).toBe('unavailable');
    await target.close();
  });

  it('still refuses overwrites with conditional writes turned off', async () => {
    const target = new S3Target({ bucket: s3.bucket, client: s3.clientConfig, conditionalWrites: false });
    await target.putObject('journal/x', Buffer.from('first'));
    await target.putObject('journal/x', Buffer.from('first'));
    expect(await failureOf(target.putObject('journal/x', Buffer.from('second')))).toBe('write_once');
    await target.close();
  });

  it('writes a name once when one process puts it several times at once, and compares the rest', async () => {
    // Without conditional writes, simultaneous writes of one key are not atomic on every store.
    const target = new S3Target({ bucket: s3.bucket, client: s3.clientConfig, conditionalWrites: false });
    const bytes = Buffer.alloc(256 * 1024, 7);
    await Promise.all(Array.from({ length: 5 }, () => target.putObject('blobs/ab/same', bytes)));
    expect(s3.events.filter((e) => e.key === 'blobs/ab/same')).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(await target.getObject('blobs/ab/same')), bytes)).toBe(0);
    const other = Buffer.alloc(256 * 1024, 8);
    const outcomes = await Promise.allSettled([
      target.putObject('blobs/ab/mixed', bytes),
      target.putObject('blobs/ab/mixed', other),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect(await failureOf(target.putObject('blobs/ab/mixed', other))).toBe('write_once');
    await target.close();
  });

  it('classifies quota errors as full and other errors as unavailable', () => {
    const error = (name: string, status: number) =>
      Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(s3Failure(error('XMinioStorageFull', 507))).toBe('full');
    expect(s3Failure(error('QuotaExceeded', 403))).toBe('full');
    expect(s3Failure(error('AccessDenied', 403))).toBe('unavailable');
    expect(s3Failure(new Error('socket hang up'))).toBe('unavailable');
  });
});
