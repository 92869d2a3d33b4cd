import { createRequire } from 'node:module';
import fastifyCookie from '@fastify/cookie';
import { AppError } from '@holdfast/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { BackupControl } from '../admin/overview.js';
import { authenticate } from '../auth/accounts.js';
import { authenticateSession, csrfTokenMatches, SESSION_COOKIE } from '../auth/sessions.js';
import type { TargetHealth } from '../backup/target-loop.js';
import type { Caller, Context } from '../context.js';
import { davRoutes } from '../dav/dav-routes.js';
import { quotaWarning } from '../sync/quota.js';
import { registerDurabilityHook } from './durability-hook.js';
import { lazyChild } from './lazy-logger.js';
import { connectionTimeouts, guardConnections, largeBodies } from './limits.js';
import { errorHandler, sendProblem } from './problem.js';
import { checkReadiness } from './readiness.js';
import { adminRoutes } from './routes/admin-routes.js';
import { appPasswordRoutes } from './routes/app-password-routes.js';
import { authMeDeviceRoutes } from './routes/auth-me-device-routes.js';
import { blobRoutes } from './routes/blob-routes.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { contactRoutes } from './routes/contact-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { exportImportRoutes } from './routes/export-import-routes.js';
import { itemRoutes } from './routes/item-routes.js';
import { ledgerRoutes } from './routes/ledger-routes.js';
import { noticeRoutes } from './routes/notice-routes.js';
import { pushChangesRoutes } from './routes/push-changes-routes.js';
import { reportRoutes } from './routes/report-routes.js';
import { restoreRoutes } from './routes/restore-routes.js';
import { headerValue, sessionRoutes } from './routes/session-routes.js';
import { summaryReseedRoutes } from './routes/summary-reseed-routes.js';
import { trashRoutes } from './routes/trash-routes.js';
import { usageRoutes } from './routes/usage-routes.js';
import { type PortalFallback, registerWebPortal } from './web-portal.js';

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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Fastify's trustProxy from the `trustedProxies` setting: false (the peer is the client) when empty. */
function trustedProxies(setting: string): string[] | false {
  const list = setting
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return list.length > 0 ? list : false;
}

/**
 * Routes validate their input with zod (validate.ts) and declare no JSON Schema, so Fastify's schema compilers
 * (ajv and fast-json-stringify, a few MB once loaded) are loaded only if some route ever declares one, instead of
 * at every start. They are Fastify's own dependencies, so they are looked up from Fastify.
 */
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Factory = (schemas: unknown, options: unknown) => unknown;
const loadedOnUse =
  (name: string): Factory =>
  (schemas, options) =>
    (fromFastify(name) as () => Factory)()(schemas, options);
const schemaCompilers = {
  buildValidator: loadedOnUse('@fastify/ajv-compiler'),
  buildSerializer: loadedOnUse('@fastify/fast-json-stringify-compiler'),
} as CompilersFactory;

const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/v1/auth/login', '/v1/session']);

export interface AppOptions {
  /** The running backup service's targets, for `/readyz`; none when backups are off. */
  backupHealth?: () => TargetHealth[];
  /** The running backup service, for the operators' API (`/v1/admin/*`); none when backups are off. */
  backup?: () => BackupControl | null;
}

/**
 * Builds the HTTP API without listening, so tests can `inject()` requests or
 * listen on port 0 themselves.
 */
export async function buildApp(ctx: Context, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Small by default; the few routes that carry bulk data opt in to more below (see largeBodies).
    bodyLimit: ctx.config.maxControlBodyBytes,
    ...connectionTimeouts(ctx.config),
    // Per-request lines are logged at debug by the onResponse hook below, with ids only.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) => lazyChild(logger, bindings, options),
    // The client address (login throttling, logs) comes from X-Forwarded-For only when a trusted proxy sent it.
    trustProxy: trustedProxies(ctx.config.trustedProxies),
    return503OnClosing: true,
    forceCloseConnections: true,
    schemaController: { compilersFactory: schemaCompilers },
  });
  app.decorateRequest('caller', null);
  largeBodies(app, ctx.config);
  guardConnections(app, ctx.config);
  registerDurabilityHook(app, ctx);
  app.setErrorHandler(errorHandler);
  // Unknown pages of the portal get its index.html (it routes in the browser); API paths get a problem.
  let portalPage: PortalFallback | null = null;
  app.setNotFoundHandler((request, reply) => {
    if (portalPage?.(request, reply)) return reply;
    return sendProblem(reply, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });

  // Cookies are read by the API only (the portal's session), so they are parsed below for /v1 paths
  // instead of on every request; setting one (session-routes.ts) works on any route. So `request.cookies`,
  // typed as always present, is null outside /v1: elsewhere read `request.headers.cookie` (app.parseCookie).
  await app.register(fastifyCookie, { hook: false });
  const authenticateApi = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const session = request.cookies[SESSION_COOKIE];
    if (header === '' && session) {
      // The web portal: the session cookie stands in for the token; writes must prove they come from its page.
      const { userId, username, deviceId } = await authenticateSession(ctx, session);
      request.caller = { userId, username, deviceId };
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        if (!csrfTokenMatches(session, headerValue(request.headers['x-csrf-token'])))
          throw new AppError('csrf_failed', "The request did not carry this session's x-csrf-token.");
      }
      request.log = request.log.child({ userId: request.caller.userId, deviceId: request.caller.deviceId });
      return;
    }
    // The scheme is case-insensitive (RFC 9110 section 11.1).
    const match = /^Bearer +([A-Za-z0-9_-]{10,200})$/i.exec(header);
    if (!match?.[1]) throw new AppError('unauthorized', 'Send the device token as "Authorization: Bearer <token>".');
    request.caller = await authenticate(ctx, match[1]);
    request.log = request.log.child({ userId: request.caller.userId, deviceId: request.caller.deviceId });
  };
  // A callback hook: requests outside the API (DAV, the portal's files) pass without a promise of their own.
  app.addHook('onRequest', (request, _reply, done) => {
    // A URL starts with /v1/ exactly when its path does.
    if (!request.url.startsWith('/v1/')) {
      done();
      return;
    }
    const cookie = request.headers.cookie;
    request.cookies = cookie ? app.parseCookie(cookie) : {};
    if (PUBLIC_ROUTES.has(request.url.split('?')[0] ?? '')) {
      done();
      return;
    }
    authenticateApi(request).then(() => done(), done);
  });
  // Two headers instead of @fastify/helmet, whose other defaults (CSP, HSTS, frame rules) are for HTML pages.
  // These two hooks run for every request and wait for nothing: callback hooks, so no promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    const quota = request.caller ? quotaWarning(ctx, request.caller.userId) : null;
    if (quota) reply.header('holdfast-quota-warning', quota);
    // Responses carry one user's data: no shared or browser cache may keep them unless a route says otherwise.
    const type = String(reply.getHeader('content-type') ?? '');
    if (/json/i.test(type) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug({ method: request.method, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    // The route pattern, not the URL: ids never become label values.
    ctx.metrics.httpRequests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  // Replaced so invalid UTF-8 is refused instead of silently becoming U+FFFD in stored data.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      done(new AppError('invalid_request', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    parseJson(request, text, done);
  });

  // Liveness: the process serves HTTP. Deliberately checks nothing else, so a database outage never gets it restarted.
  app.get('/healthz', async () => ({ ok: true }));
  // Readiness: whether to send it traffic.
  app.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness(ctx, options.backupHealth ?? (() => []));
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
  await app.register(sessionRoutes(ctx));
  await app.register(authMeDeviceRoutes(ctx));
  await app.register(appPasswordRoutes(ctx));
  await app.register(collectionRoutes(ctx));
  await app.register(itemRoutes(ctx));
  await app.register(pushChangesRoutes(ctx));
  await app.register(blobRoutes(ctx));
  await app.register(eventRoutes(ctx));
  await app.register(summaryReseedRoutes(ctx));
  await app.register(ledgerRoutes(ctx));
  await app.register(noticeRoutes(ctx));
  await app.register(exportImportRoutes(ctx));
  await app.register(contactRoutes(ctx));
  await app.register(usageRoutes(ctx));
  await app.register(restoreRoutes(ctx));
  await app.register(reportRoutes(ctx));
  await app.register(adminRoutes(ctx, options.backup ?? (() => null)));
  await app.register(trashRoutes(ctx));
  await app.register(davRoutes(ctx));
  portalPage = await registerWebPortal(app, ctx);
  return app;
}
