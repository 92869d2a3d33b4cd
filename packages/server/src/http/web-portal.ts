import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';

/** Answers a request no route matched with the portal's page; false when it is not the portal's to answer. */
export type PortalFallback = (request: FastifyRequest, reply: FastifyReply) => boolean;

/** Paths that belong to the API, DAV and operations: never the portal's page, whatever is missing there. */
const NOT_PORTAL = /^\/(v1|dav|\.well-known|healthz|readyz|metrics)(\/|$)/;

/** Vite names built files by content hash, so they never change under one name. */
const HASHED_ASSETS = /^\/assets\//;

/**
 * The built portal: the dist/ folder of the @holdfast/web package, found the way Node finds any package, so that
 * it is found from the server's sources, from its build and from the `holdfast` command's bundle, in the checkout
 * (node_modules/@holdfast/web is the workspace's packages/web) and in the release (where the package travels
 * inside the tarball). Beside the server package when it cannot be resolved.
 */
export function webDirectory(config: Context['config']): string {
  if (config.webDir !== '') return resolve(config.webDir);
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@holdfast/web/package.json')), 'dist');
  } catch {
    return fileURLToPath(new URL('../../../web/dist', import.meta.url));
  }
}

/**
 * The strict policy the portal is built for: its own scripts and styles only
 * (Vite emits no inline script), no plugins, no framing, and connections
 * only back to this server (the API and the change feed).
 */
const contentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    mediaSrc: ["'self'", 'blob:'],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * Serves packages/web/dist at `/` with security headers on everything that is
 * not the API, long caching for hashed assets and none for index.html, and
 * returns the fallback that hands index.html to the portal's own routes. Does
 * nothing (and the API works as before) when the portal is not built.
 */
export async function registerWebPortal(app: FastifyInstance, ctx: Context): Promise<PortalFallback | null> {
  const root = webDirectory(ctx.config);
  if (!existsSync(join(root, 'index.html'))) {
    ctx.log.info({ webDir: root }, 'web portal not found; serving the API only');
    return null;
  }
  // Loaded only when there is a portal to serve: an API-only server never holds them.
  const [{ default: fastifyHelmet }, { default: fastifyStatic }] = await Promise.all([
    import('@fastify/helmet'),
    import('@fastify/static'),
  ]);
  // Not global: API answers are JSON for programs, and keep their own headers (app.ts).
  await app.register(fastifyHelmet, {
    global: false,
    contentSecurityPolicy,
    // No includeSubDomains: other sites under the operator's domain are not ours to pin to TLS.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    referrerPolicy: { policy: 'same-origin' },
  });
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!NOT_PORTAL.test(path)) await reply.helmet();
  });
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Cache headers are set below, per file kind.
    cacheControl: false,
    setHeaders(res, path) {
      const hashed = path.startsWith(join(root, 'assets'));
      res.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    if (NOT_PORTAL.test(path) || HASHED_ASSETS.test(path)) return false;
    reply.header('cache-control', 'no-cache');
    void reply.sendFile('index.html');
    return true;
  };
}
