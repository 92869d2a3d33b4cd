import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, initRepository, openRepository, type Repository } from '@holdfast/backup';
import { tinyPng } from '@holdfast/test-support/fixtures';
import {
  addUser,
  type EngineName,
  startTestServer,
  type TestServer,
  type TestUser,
} from '@holdfast/test-support/harness';
import { afterEach } from 'vitest';
import { startBackupService } from '../backup/backup-service.js';
import { readItemHeadSeqs } from '../store/entity-heads.js';

/** A cheap KDF for tests only (the format's default is N = 2^17). */
export const TEST_KDF = { N: 1024 };
export const TEST_PASSPHRASE = 'correct horse battery staple';

/** Creates `count` empty directory targets with a repository on each. */
export async function createDirectoryRepositories(count: number): Promise<{ base: string; dirs: string[] }> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-backup-'));
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(base, `target-${i}`);
    await mkdir(dir);
    const target = new DirectoryTarget(dir);
    await initRepository(target, { passphrase: TEST_PASSPHRASE }, { kdf: TEST_KDF });
    await target.close();
    dirs.push(dir);
  }
  return { base, dirs };
}

/** A test server configured to back up to fresh directory repositories. */
export async function startBackedUpServer(
  engine: EngineName,
  targets = 2,
  settings: Record<string, string> = {},
): Promise<{ server: TestServer; dirs: string[]; close(): Promise<void> }> {
  const { base, dirs } = await createDirectoryRepositories(targets);
  const server = await startTestServer(engine, {
    'backup-targets': dirs.join(','),
    'backup-passphrase': TEST_PASSPHRASE,
    'backup-drill-interval': '0',
    ...settings,
  });
  return {
    server,
    dirs,
    async close() {
      await server.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** Pushes notes into a collection over the API; returns the collection id. */
export async function pushNotes(
  server: TestServer,
  user: TestUser,
  count: number,
  options: { collectionId?: string; prefix?: string } = {},
): Promise<string> {
  let collectionId = options.collectionId;
  if (!collectionId) {
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: user.auth,
      payload: { type: 'notes', name: 'Notes' },
    });
    collectionId = (created.json() as { id: string }).id;
  }
  const prefix = options.prefix ?? 'n';
  for (let start = 0; start < count; start += 200) {
    const changes = [];
    for (let i = start; i < Math.min(count, start + 200); i++) {
      changes.push({
        clientChangeId: randomUUID(),
        collectionId,
        itemId: `${prefix}${i}`,
        op: 'put',
        baseRevision: null,
        content: { title: `note ${i}`, body: `body ${prefix} ${i} ${randomUUID()}` },
      });
    }
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: user.auth,
      payload: { changes },
    });
    if (response.statusCode !== 200) throw new Error(`push failed: ${response.body}`);
  }
  return collectionId;
}

/** Replaces existing notes (each based on its current head), so their positions in a snapshot are superseded. */
export async function updateNotes(server: TestServer, user: TestUser, collectionId: string, itemIds: string[]) {
  const heads = await readItemHeadSeqs(server.ctx.db, user.userId, itemIds);
  const changes = heads.map((head) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId: head.id,
    op: 'put',
    baseRevision: Number(head.head_seq),
    content: { title: `updated ${head.id}`, body: randomUUID() },
  }));
  const response = await server.app.inject({
    method: 'POST',
    url: '/v1/push',
    headers: user.auth,
    payload: { changes },
  });
  const results = (response.json() as { results: { status: string }[] }).results;
  if (changes.length !== itemIds.length || results.some((r) => r.status !== 'applied')) {
    throw new Error(`update failed: ${response.body}`);
  }
}

/** One shipping pass of the backup service on every target the server is configured with (snapshot first if none). */
export async function shipOnce(server: TestServer): Promise<void> {
  const { config, db, blobs, log } = server.ctx;
  const service = startBackupService({ config, db, blobs, log, now: Date.now }, { timers: false });
  await service.runOnce();
  await service.stop();
}

/** Opens the test repository in `dir`; the target is closed by `defer`. */
export async function openTestRepository(
  dir: string,
  defer: (cleanup: () => Promise<void>) => void,
): Promise<Repository> {
  const target = new DirectoryTarget(dir);
  defer(() => target.close());
  return openRepository(target, { passphrase: TEST_PASSPHRASE });
}

/**
 * Cleanups that run after each test, newest first: call once per test
 * file, then register with the returned function.
 */
export function cleanupAfterEach(): (cleanup: () => Promise<void>) => void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

/** Uploads a small PNG and adds it as a photo item; returns its sha256. */
export async function pushPhoto(server: TestServer, user: TestUser, collectionId: string, itemId: string, width = 3) {
  const png = tinyPng(width, 2);
  const sha = createHash('sha256').update(png).digest('hex');
  const upload = await server.app.inject({
    method: 'PUT',
    url: `/v1/blobs/${sha}`,
    headers: { ...user.auth, 'content-type': 'image/png' },
    payload: png,
  });
  if (upload.statusCode >= 300) throw new Error(`upload failed: ${upload.body}`);
  const response = await server.app.inject({
    method: 'POST',
    url: '/v1/push',
    headers: user.auth,
    payload: {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId,
          itemId,
          op: 'put',
          baseRevision: null,
          content: { filename: `${itemId}.png` },
          blob: { sha256: sha, contentType: 'image/png' },
        },
      ],
    },
  });
  if (response.statusCode !== 200) throw new Error(`push failed: ${response.body}`);
  return sha;
}

/** Creates a photos collection; returns its id. */
export async function createCollection(server: TestServer, user: TestUser, type: string): Promise<string> {
  const created = await server.app.inject({
    method: 'POST',
    url: '/v1/collections',
    headers: user.auth,
    payload: { type, name: type },
  });
  return (created.json() as { id: string }).id;
}

export { addUser };
