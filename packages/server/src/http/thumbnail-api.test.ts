import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlob } from '@holdfast/test-support/blob-upload';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const corpusImage = (name: string) =>
  readFile(new URL(`../../../../test/fixtures/corpus/images/${name}`, import.meta.url));

describe.each(engines)('GET /v1/blobs/:sha256/thumbnail on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  const upload = async (bytes: Buffer, user: TestUser = alice) => {
    const { sha256, response } = await uploadBlob(server, user, bytes);
    expect([200, 201]).toContain(response.statusCode);
    return sha256;
  };
  const thumb = (sha256: string, size?: number | string, user: TestUser = alice) =>
    server.app.inject({
      method: 'GET',
      url: `/v1/blobs/${sha256}/thumbnail${size === undefined ? '' : `?size=${size}`}`,
      headers: user.auth,
    });
  const made = async () =>
    (await server.ctx.metrics.thumbnails.get()).values.find((v) => v.labels.result === 'made')?.value ?? 0;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-thumb-${engine}`);
    bob = await addUser(server, `bob-thumb-${engine}`);
  });
  afterAll(async () => server?.close());

  it.each(['photo-exif.jpg', 'photo-jfif.jpg', 'photo.png'])('makes a WebP thumbnail of %s', async (name) => {
    const source = await corpusImage(name);
    const sha256 = await upload(source);
    const response = await thumb(sha256, 128);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/webp');
    expect(response.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    const original = await sharp(source).metadata();
    const made = await sharp(response.rawPayload).metadata();
    expect(made.format).toBe('webp');
    // Small originals are never enlarged.
    expect([made.width, made.height]).toEqual([original.width, original.height]);
  });

  it('scales a large photo to the requested size, keeping its shape', async () => {
    const big = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3366cc' } })
      .jpeg()
      .toBuffer();
    const sha256 = await upload(big);
    for (const [size, height] of [
      [128, 85],
      [256, 171],
      [512, 341],
    ] as const) {
      const response = await thumb(sha256, size);
      expect(response.statusCode).toBe(200);
      const meta = await sharp(response.rawPayload).metadata();
      expect([meta.width, meta.height]).toEqual([size, height]);
    }
    // 256 when no size is asked for; other sizes are refused.
    expect((await sharp((await thumb(sha256)).rawPayload).metadata()).width).toBe(256);
    expect((await thumb(sha256, 300)).statusCode).toBe(400);
    expect((await thumb(sha256, 'big')).statusCode).toBe(400);
  });

  it('makes each thumbnail once, even for concurrent requests, and caches it beside the blobs', async () => {
    const photo = await sharp({ create: { width: 900, height: 600, channels: 3, background: '#aa3300' } })
      .png()
      .toBuffer();
    const sha256 = await upload(photo);
    const before = await made();
    const answers = await Promise.all(Array.from({ length: 6 }, () => thumb(sha256, 512)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.rawPayload.toString('base64'))).size).toBe(1);
    expect(await made()).toBe(before + 1);
    const cached = join(server.dataDir, 'blobs', 'derived', sha256.slice(0, 2), `${sha256}-thumb-512.webp`);
    expect((await stat(cached)).size).toBe(answers[0]?.rawPayload.length);
    expect((await thumb(sha256, 512)).statusCode).toBe(200);
    expect(await made()).toBe(before + 1);
    // Another size is another thumbnail.
    expect((await thumb(sha256, 128)).statusCode).toBe(200);
    expect(await made()).toBe(before + 2);
  });

  it('answers 404 for a blob the caller does not hold, as for the blob itself', async () => {
    const source = await corpusImage('photo-jfif.jpg');
    const sha256 = await upload(source);
    expect((await thumb(sha256, 256)).statusCode).toBe(200);
    const refused = await thumb(sha256, 256, bob);
    expect(refused.statusCode).toBe(404);
    expect(refused.json().code).toBe('not_found');
    expect((await thumb('0'.repeat(64), 256)).statusCode).toBe(404);
    // Once Bob holds the same bytes he gets the same (cached) thumbnail.
    await upload(source, bob);
    const before = await made();
    expect((await thumb(sha256, 256, bob)).statusCode).toBe(200);
    expect(await made()).toBe(before);
  });

  it('refuses blobs that are not images with 415', async () => {
    const text = await upload(Buffer.from('BEGIN:VCARD\r\nFN:Not a picture\r\nEND:VCARD\r\n'));
    const response = await thumb(text, 128);
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('unsupported_media_type');
    const cut = (await corpusImage('photo-exif.jpg')).subarray(0, 200);
    expect((await thumb(await upload(cut), 128)).statusCode).toBe(415);
  });

  it('refuses images over the size limits with 413, making nothing', async () => {
    const limited = await startTestServer(engine, {
      'thumbnail-max-input-pixels': '10000',
      'thumbnail-max-source-bytes': '20000',
    });
    try {
      const carol = await addUser(limited, `carol-thumb-${engine}`);
      const put = async (bytes: Buffer) => {
        const { sha256, response } = await uploadBlob(limited, carol, bytes, { contentType: 'image/png' });
        expect(response.statusCode).toBe(201);
        return sha256;
      };
      const get = (sha256: string) =>
        limited.app.inject({ method: 'GET', url: `/v1/blobs/${sha256}/thumbnail?size=128`, headers: carol.auth });
      const wide = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000' } })
        .png()
        .toBuffer();
      const tooManyPixels = await get(await put(wide));
      expect(tooManyPixels.statusCode).toBe(413);
      expect(tooManyPixels.json().code).toBe('payload_too_large');
      const noisy = await sharp(Buffer.from(Array.from({ length: 90 * 90 * 3 }, (_, i) => (i * 7919) % 256)), {
        raw: { width: 90, height: 90, channels: 3 },
      })
        .png({ compressionLevel: 0 })
        .toBuffer();
      expect(noisy.length).toBeGreaterThan(20000);
      expect((await get(await put(noisy))).statusCode).toBe(413);
      const small = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      expect((await get(await put(small))).statusCode).toBe(200);
      const made = (await limited.ctx.metrics.thumbnails.get()).values.find((v) => v.labels.result === 'made');
      expect(made?.value).toBe(1);
    } finally {
      await limited.close();
    }
  });
});
