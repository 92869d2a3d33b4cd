/**
 * Imported ZIPs are read within stated bounds: a manifest padded to hundreds
 * of megabytes, or an archive that unpacks far larger than it is, is refused
 * from the ZIP's directory before anything is inflated or stored.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  addAccount,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';

/** A ZIP (as bytes) with a manifest.json of `spaces` spaces then `{}`, and other entries of repeated bytes. */
async function zipOf(dir: string, entries: { name: string; size: number; text?: string }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    let left = entry.size;
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const body = Readable.from(
      (function* () {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          yield chunk.subarray(0, n);
        }
        if (entry.text) yield Buffer.from(entry.text);
      })(),
    );
    zip.addReadStream(body, entry.name, {
      size: entry.size + Buffer.byteLength(entry.text ?? ''),
      compressionLevel: 1,
    });
  }
  zip.end();
  const path = join(dir, `bomb-${Math.random()}.zip`);
  const out = createWriteStream(path);
  zip.outputStream.pipe(out);
  await once(out, 'close');
  return readFile(path);
}

describe('import size limits', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const signIn = async (s: ListeningServer) => {
    const account = await addAccount(s.ctx, 'importer');
    const response = await send(`${s.url}/v1/auth/login`, loginBody(account.username, account.password));
    return { authorization: `Bearer ${(JSON.parse(response.body) as { token: string }).token}` };
  };
  const upload = (s: ListeningServer, auth: Record<string, string>, body: Buffer) =>
    send(`${s.url}/v1/import?name=export.zip`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/zip' },
      body,
    });

  it('refuses a manifest that unpacks to 200 MiB of spaces without reading it', async () => {
    server = await startListeningServer();
    const auth = await signIn(server);
    const body = await zipOf(server.dataDir, [{ name: 'manifest.json', size: 200 * 1024 * 1024, text: '{}' }]);
    expect(body.length).toBeLessThan(2 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const response = await upload(server, auth, body);
    clearInterval(timer);
    expect(response.status).toBe(413);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'payload_too_large' });
    expect(JSON.parse(response.body).detail).toMatch(/manifest\.json/);
    expect((peak - before) / 1024 / 1024).toBeLessThan(100);
    const imports = await send(`${server.url}/v1/imports`, { headers: auth });
    expect(JSON.parse(imports.body).imports).toEqual([]);
  });

  it('refuses an archive (a zip bomb) that unpacks beyond the per-entry and per-archive limits', async () => {
    server = await startListeningServer({
      'max-import-entry-bytes': String(4 * 1024 * 1024),
      'max-import-archive-bytes': String(6 * 1024 * 1024),
    });
    const auth = await signIn(server);
    const entry = await upload(
      server,
      auth,
      await zipOf(server.dataDir, [
        { name: 'manifest.json', size: 0, text: '{}' },
        { name: 'contacts/a.vcf', size: 5 * 1024 * 1024 },
      ]),
    );
    expect(entry.status).toBe(413);
    expect(JSON.parse(entry.body).detail).toMatch(/contacts\/a\.vcf unpacks to 5242880 bytes/);
    const archive = await upload(
      server,
      auth,
      await zipOf(server.dataDir, [
        { name: 'manifest.json', size: 0, text: '{}' },
        { name: 'contacts/a.vcf', size: 3 * 1024 * 1024 },
        { name: 'contacts/b.vcf', size: 3 * 1024 * 1024 },
      ]),
    );
    expect(archive.status).toBe(413);
    expect(JSON.parse(archive.body).detail).toMatch(/the ZIP unpacks to 6291458 bytes/);
    const imports = await send(`${server.url}/v1/imports`, { headers: auth });
    expect(JSON.parse(imports.body).imports).toEqual([]);
  });
});
