import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@holdfast/protocol';
import { createTestRepository, FAST_KDF, PASSPHRASE } from '@holdfast/test-support/backup-fixtures';
import {
  createHarness,
  directoryHarness,
  type TargetHarness,
  targetKinds,
} from '@holdfast/test-support/backup-targets';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyObjectSchema } from './keys.js';
import { listRepositoryObjects } from './object-store.js';
import { changeRepositorySecret, initRepository, openRepository, type Repository } from './repository.js';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe.each(targetKinds)('repository on a %s target', (kind) => {
  let harness: TargetHarness;
  beforeEach(async () => {
    harness = await createHarness(kind);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('creates a repository and reopens it with the passphrase', async () => {
    const repo = await createTestRepository(harness.target);
    expect(repo.id).toMatch(/^[0-9a-f]{32}$/);
    const names = await harness.target.listObjects('');
    expect(names).toEqual(['config', repo.keyObject]);
    const reopened = await openRepository(harness.target, { passphrase: PASSPHRASE });
    expect(reopened.id).toBe(repo.id);
    expect(reopened.config).toEqual(repo.config);
  });

  it('rejects a wrong passphrase with "wrong passphrase or key file"', async () => {
    await createTestRepository(harness.target);
    const error = await rejection(openRepository(harness.target, { passphrase: `${PASSPHRASE}!` }));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toBe('wrong passphrase or key file');
  });

  it('opens with a key file, which a passphrase cannot stand in for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-key-'));
    try {
      const keyFile = join(dir, 'repository.key');
      await writeFile(keyFile, 'a key file: any bytes at all\n');
      const repo = await initRepository(harness.target, { keyFile }, { kdf: FAST_KDF });
      expect((await openRepository(harness.target, { keyFile })).id).toBe(repo.id);
      const error = await rejection(openRepository(harness.target, { passphrase: PASSPHRASE }));
      expect(error.message).toBe('wrong passphrase or key file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to create a repository on a target that holds objects', async () => {
    await createTestRepository(harness.target);
    const error = await rejection(createTestRepository(harness.target));
    expect(error.code).toBe('conflict');
  });

  it('reports a target without a repository as not_found', async () => {
    const error = await rejection(openRepository(harness.target, { passphrase: PASSPHRASE }));
    expect(error.code).toBe('not_found');
  });

  it('changes the passphrase: the old one stops working and the same master key stays in use', async () => {
    const repo = await createTestRepository(harness.target);
    const changed = await changeRepositorySecret(repo, { passphrase: 'a new passphrase' }, { kdf: FAST_KDF });
    expect(changed.keyObject).not.toBe(repo.keyObject);
    expect(await harness.target.listObjects('keys/')).toEqual([changed.keyObject]);
    const error = await rejection(openRepository(harness.target, { passphrase: PASSPHRASE }));
    expect(error.message).toBe('wrong passphrase or key file');
    const reopened = await openRepository(harness.target, { passphrase: 'a new passphrase' });
    expect(reopened.id).toBe(repo.id);
  });

  it('treats an emptied target as an error, never as an empty repository', async () => {
    const repo = await createTestRepository(harness.target);
    expect(await listRepositoryObjects(repo, 'snapshots/')).toEqual([]);
    await harness.wipe();
    const error = await rejection(listRepositoryObjects(repo, 'snapshots/'));
    expect(error.code).toBe('unavailable');
  });
});

describe('repository keys', () => {
  let harness: TargetHarness;
  beforeEach(async () => {
    harness = await directoryHarness();
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('derives keys with scrypt N=2^17, r=8, p=1 unless told otherwise', async () => {
    const repo = await initRepository(harness.target, { passphrase: PASSPHRASE });
    const key = keyObjectSchema.parse(
      JSON.parse(Buffer.from(await harness.target.getObject(repo.keyObject)).toString()),
    );
    expect(key.kdf).toMatchObject({ algorithm: 'scrypt', N: 131072, r: 8, p: 1 });
    expect(Buffer.from(key.kdf.salt, 'base64').byteLength).toBe(32);
  });

  it('normalises passphrases to NFC, so composed and decomposed forms open the same repository', async () => {
    const repo: Repository = await initRepository(harness.target, { passphrase: 'caf\u00e9' }, { kdf: FAST_KDF });
    expect((await openRepository(harness.target, { passphrase: 'cafe\u0301' })).id).toBe(repo.id);
  });

  it('refuses an empty passphrase', async () => {
    const error = await rejection(initRepository(harness.target, { passphrase: '' }, { kdf: FAST_KDF }));
    expect(error.code).toBe('invalid_request');
  });

  it('ignores a damaged key object as long as another one opens the repository', async () => {
    const repo = await createTestRepository(harness.target);
    const second = await changeRepositorySecret(repo, { passphrase: 'second' }, { kdf: FAST_KDF });
    await harness.target.putObject(`keys/${'0'.repeat(64)}`, Buffer.from('{"not":"a key"}'));
    expect((await openRepository(harness.target, { passphrase: 'second' })).keyObject).toBe(second.keyObject);
  });
});
