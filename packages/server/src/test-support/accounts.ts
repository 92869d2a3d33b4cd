import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectionType } from '@holdfast/protocol';
import {
  addUser,
  type EngineName,
  startTestServer,
  type TestServer,
  type TestUser,
} from '@holdfast/test-support/harness';
import yazl from 'yazl';
import { openBundle, readManifest } from '../bundle/bundle-reader.js';
import type { Manifest } from '../bundle/manifest.js';
import { type ExportOptions, exportAccount } from '../export/export-run.js';
import { type ImportOptions, importFile } from '../import/import.js';

/** A test server with one user and a scratch folder for files. */
export interface FormatsFixture {
  server: TestServer;
  user: TestUser;
  dir: string;
  /** Writes `content` to a file in the scratch folder and returns its path. */
  file(name: string, content: string | Uint8Array): Promise<string>;
  import(path: string, options?: ImportOptions, user?: TestUser): ReturnType<typeof importFile>;
  /** Exports the user's account to a ZIP in the scratch folder; returns the manifest read back from it. */
  export(name?: string, options?: ExportOptions, user?: TestUser): Promise<{ path: string; manifest: Manifest }>;
  /** Creates a collection over the API and returns its id. */
  collection(type: CollectionType, name?: string, user?: TestUser): Promise<string>;
  close(): Promise<void>;
}

export async function startFormatsFixture(engine: EngineName): Promise<FormatsFixture> {
  const server = await startTestServer(engine);
  const user = await addUser(server);
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-formats-'));
  const owner = (u: TestUser) => ({ userId: u.userId, deviceId: u.deviceId });
  return {
    server,
    user,
    dir,
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    import: (path, options, who = user) => importFile(server.ctx, owner(who), path, options),
    async export(name = 'export.zip', options, who = user) {
      const path = join(dir, name);
      const out = createWriteStream(path);
      await exportAccount(server.ctx, { id: who.userId, username: who.username }, out, options);
      // The manifest as written into the bundle, items and all.
      const bundle = await openBundle(path);
      try {
        return { path, manifest: await readManifest(bundle) };
      } finally {
        bundle.close();
      }
    },
    async collection(type, name = type, who = user) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: who.auth,
        payload: { type, name },
      });
      if (response.statusCode !== 201) throw new Error(response.body);
      return (response.json() as { id: string }).id;
    },
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Live items of a collection over the API: id → content. */
export async function listContents(
  server: TestServer,
  user: TestUser,
  collectionId: string,
): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  let after: string | null = null;
  do {
    const query: string = after ? `&after=${after}` : '';
    const response = await server.app.inject({
      method: 'GET',
      url: `/v1/collections/${collectionId}/items?limit=1000${query}`,
      headers: user.auth,
    });
    const body = response.json() as { items: { id: string; content: unknown }[]; next: string | null };
    for (const item of body.items) out.set(item.id, item.content);
    after = body.next;
  } while (after !== null);
  return out;
}

/** The text of every file in a bundle whose path matches `pattern`, with its path. */
export async function bundleTexts(zip: string, pattern: RegExp): Promise<{ path: string; text: string }[]> {
  const bundle = await openBundle(zip);
  try {
    const out: { path: string; text: string }[] = [];
    for (const path of [...bundle.entries.keys()].filter((p) => pattern.test(p)).sort()) {
      out.push({ path, text: (await bundle.readBytes(path, 1 << 30)).toString('utf8') });
    }
    return out;
  } finally {
    bundle.close();
  }
}

/**
 * Copies a bundle with changes: `edit` returns an entry's new bytes, or null
 * to leave it out; `extra` entries are added at the end.
 */
export async function rewriteZip(
  source: string,
  target: string,
  edit: (path: string, bytes: Buffer) => Buffer | null,
  extra: { path: string; bytes: Buffer }[] = [],
): Promise<void> {
  const bundle = await openBundle(source);
  const zip = new yazl.ZipFile();
  const out = createWriteStream(target);
  zip.outputStream.pipe(out);
  try {
    for (const path of bundle.entries.keys()) {
      const bytes = edit(path, await bundle.readBytes(path, 1 << 30));
      if (bytes) zip.addBuffer(bytes, path);
    }
    for (const entry of extra) zip.addBuffer(entry.bytes, entry.path);
    zip.end();
    await once(out, 'close');
  } finally {
    bundle.close();
  }
}
