import { AppError } from '@holdfast/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { authenticate } from '../auth/accounts.js';
import type { Caller, Context } from '../context.js';
import { davRoutes } from '../dav/dav-routes.js';
import { connectionTimeouts, guardConnections, largeBodies } from './limits.js';
import { errorHandler, sendProblem } from './problem.js';
import { authRoutes } from './routes/auth-routes.js';
import { blobRoutes } from './routes/blob-routes.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { exportRoutes } from './routes/export-routes.js';
import { itemRoutes } from './routes/item-routes.js';
import { reseedRoutes } from './routes/reseed-routes.js';
import { restoreRoutes } from './routes/restore-routes.js';
import { syncRoutes } from './routes/sync-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/** The caller of an authenticated route (the auth hook has run). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new AppError('unauthorized', 'Authentication required.');
  return request.caller;
}

const PUBLIC_ROUTES = new Set(['/healthz', '/metrics', '/v1/auth/login']);

/**
 * Builds the HTTP API without listening, so tests can `inject()` requests or
 * listen on port 0 themselves.
 */
export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Small by default; the few routes that carry bulk data opt in to more below (see largeBodies).
    bodyLimit: ctx.config.maxControlBodyBytes,
    ...connectionTimeouts(ctx.config),
    // Per-request lines are logged at debug by the onResponse hook below, with ids only.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.decorateRequest('caller', null);
  largeBodies(app, ctx.config);
  guardConnections(app, ctx.config);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (PUBLIC_ROUTES.has(path) || !path.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header);
    if (!match?.[1]) throw new AppError('unauthorized', 'Send the device token as "Authorization: Bearer <token>".');
    request.caller = await authenticate(ctx, match[1]);
    request.log = request.log.child({ userId: request.caller.userId, deviceId: request.caller.deviceId });
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    // The route pattern, not the URL: ids never become label values.
    ctx.metrics.httpRequests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/metrics', async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
  await app.register(authRoutes(ctx));
  await app.register(collectionRoutes(ctx));
  await app.register(itemRoutes(ctx));
  await app.register(syncRoutes(ctx));
  await app.register(blobRoutes(ctx));
  await app.register(eventRoutes(ctx));
  await app.register(reseedRoutes(ctx));
  await app.register(exportRoutes(ctx));
  await app.register(restoreRoutes(ctx));
  await app.register(davRoutes(ctx));
  return app;
}
