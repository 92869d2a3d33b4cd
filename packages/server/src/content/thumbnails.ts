import { AppError } from '@holdfast/protocol';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';

/** The edge lengths, in pixels, thumbnails are made at: a few, so each photo has at most this many. */
export const THUMBNAIL_SIZES = [128, 256, 512] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

export const THUMBNAIL_TYPE = 'image/webp';

interface ThumbnailContext {
  blobs: BlobStore;
  config: Pick<Config, 'thumbnailMaxSourceBytes' | 'thumbnailMaxInputPixels' | 'thumbnailConcurrency'>;
  metrics: Pick<Metrics, 'thumbnails'>;
}

/** Per blob store: thumbnails being made (so a second request waits for the first) and the queue for making them. */
interface Maker {
  inFlight: Map<string, Promise<Buffer>>;
  running: number;
  queue: (() => void)[];
}

const makers = new WeakMap<BlobStore, Maker>();

function makerOf(blobs: BlobStore): Maker {
  let maker = makers.get(blobs);
  if (!maker) {
    maker = { inFlight: new Map(), running: 0, queue: [] };
    makers.set(blobs, maker);
  }
  return maker;
}

/**
 * The thumbnail of blob `sha256` at `size` (WebP, longest edge at most
 * `size`, EXIF orientation applied, never enlarged), made once and cached
 * beside the blobs by content hash and size: later requests, for any user
 * holding the blob, read the cached bytes. Concurrent requests for one
 * thumbnail share one making of it. The caller checks access first.
 */
export async function thumbnail(ctx: ThumbnailContext, sha256: string, size: ThumbnailSize): Promise<Buffer> {
  const key = `${sha256}-thumb-${size}.webp`;
  const maker = makerOf(ctx.blobs);
  const pending = maker.inFlight.get(key);
  if (pending) {
    ctx.metrics.thumbnails.inc({ result: 'cached' });
    return pending;
  }
  const cached = await ctx.blobs.readDerived(key);
  if (cached) {
    ctx.metrics.thumbnails.inc({ result: 'cached' });
    return cached;
  }
  // Checked again: another request may have started making it while the cache was read.
  const started = maker.inFlight.get(key);
  if (started) {
    ctx.metrics.thumbnails.inc({ result: 'cached' });
    return started;
  }
  const making = inTurn(ctx, maker, async () => {
    const bytes = await makeThumbnail(ctx, sha256, size);
    await ctx.blobs.writeDerived(key, bytes);
    ctx.metrics.thumbnails.inc({ result: 'made' });
    return bytes;
  });
  maker.inFlight.set(key, making);
  try {
    return await making;
  } finally {
    maker.inFlight.delete(key);
  }
}

/** Runs `work` when fewer than `thumbnailConcurrency` thumbnails are being made: resizing is CPU-bound. */
async function inTurn<T>(ctx: ThumbnailContext, maker: Maker, work: () => Promise<T>): Promise<T> {
  if (maker.running >= ctx.config.thumbnailConcurrency) await new Promise<void>((go) => maker.queue.push(go));
  maker.running++;
  try {
    return await work();
  } finally {
    maker.running--;
    maker.queue.shift()?.();
  }
}

async function makeThumbnail(ctx: ThumbnailContext, sha256: string, size: ThumbnailSize): Promise<Buffer> {
  const source = await readWhole(ctx, sha256);
  // sharp maps libvips (several MB resident) at load: only a server that makes thumbnails pays for it.
  const { default: sharp } = await import('sharp');
  try {
    return await sharp(source, { limitInputPixels: ctx.config.thumbnailMaxInputPixels })
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new AppError(
        'payload_too_large',
        `The image is larger than ${ctx.config.thumbnailMaxInputPixels} pixels; no thumbnail is made of it.`,
      );
    }
    throw new AppError('unsupported_media_type', 'This blob is not an image a thumbnail can be made of.', {
      reason: message.slice(0, 200),
    });
  }
}

async function readWhole(ctx: ThumbnailContext, sha256: string): Promise<Buffer> {
  const stat = await ctx.blobs.stat(sha256);
  if (!stat) throw new AppError('internal', `Blob ${sha256} is recorded but missing from storage.`);
  if (stat.size > ctx.config.thumbnailMaxSourceBytes) {
    throw new AppError(
      'payload_too_large',
      `The blob is larger than ${ctx.config.thumbnailMaxSourceBytes} bytes; no thumbnail is made of it.`,
    );
  }
  const stream = await ctx.blobs.get(sha256);
  if (!stream) throw new AppError('internal', `Blob ${sha256} is recorded but missing from storage.`);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
