import { Readable } from 'node:stream';
import { AppError } from '@holdfast/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Caller, Context } from '../context.js';
import { callerOf } from '../http/app.js';
import { ALLOW_COLLECTION, makeCollection, proppatch, removeCollection } from './collection-methods.js';
import { createDavAuthenticator } from './dav-auth.js';
import { davErrorHandler } from './dav-error.js';
import { DAV_PREFIX, type DavResource, resolveTarget } from './dav-paths.js';
import { filesRoutes } from './files-routes.js';
import { freeBusyQuery } from './free-busy.js';
import { deleteItem, getItem, putItem } from './item-methods.js';
import { createScope } from './properties.js';
import { propfind } from './propfind.js';
import { answerIfHeld, mayBeHeld } from './recovery-hold.js';
import { report } from './report.js';
import { parseXml, type XmlElement } from './xml-parse.js';
import { CALDAV, MULTISTATUS_CLOSE, MULTISTATUS_OPEN } from './xml-write.js';

const EXTRA_METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR', 'REPORT', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'];
const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', ...EXTRA_METHODS] as HTTPMethods[];

/** Compliance classes: RFC 4918 (1, 3), RFC 5689, RFC 6352, RFC 4791, RFC 6578. */
const DAV_HEADER = '1, 3, extended-mkcol, addressbook, calendar-access, sync-collection';
const ALLOW_ALL = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, REPORT';

/** Largest PUT body: iCalendar content is limited to 4 Mi characters, which UTF-8 can triple. */
const MAX_DAV_BODY = 16 * 1024 * 1024;

/**
 * CardDAV and CalDAV at /dav, over the same revision log as the JSON API.
 * The plugin is encapsulated: its raw-body parser, XML errors and Basic
 * authentication apply to its routes only.
 */
export function davRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    for (const method of EXTRA_METHODS) {
      if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
    }
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: Math.min(MAX_DAV_BODY, ctx.config.maxBodyBytes) },
      (_request, body, done) => done(null, body),
    );
    app.setErrorHandler(davErrorHandler);
    const authenticate = createDavAuthenticator(ctx);
    // Credentials are checked before the body is read: a client that cannot authenticate gets its 401
    // with the body unread (and the connection closed), never megabytes buffered first.
    // A callback hook: the authenticator's promise is the only one a request waits on here.
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'OPTIONS' || !isDavPath(request.url)) {
        done();
        return;
      }
      authenticate(request.headers.authorization, request.ip).then((caller) => {
        request.caller = caller;
        request.log = request.log.child({ userId: caller.userId, deviceId: caller.deviceId });
        done();
      }, done);
    });
    // After a loss, reads wait until what was lost is back: a listing without it reads as deletions. Checked
    // once the (small, authenticated) body is read, so the connection stays open and the client reads its 503.
    // A callback hook: the writes that are never held (PUT) pass without a promise of their own.
    app.addHook('preHandler', (request, reply, done) => {
      if (!request.caller || !mayBeHeld(request.method)) {
        done();
        return;
      }
      answerIfHeld(ctx, request.caller, request, reply).then((held) => {
        if (!held) done();
      }, done);
    });

    // RFC 6764 discovery: the one redirect Holdfast answers with, because DAV clients require it.
    for (const url of [
      '/.well-known/carddav',
      '/.well-known/caldav',
      '/.well-known/carddav/',
      '/.well-known/caldav/',
    ]) {
      app.route({
        method: METHODS,
        url,
        exposeHeadRoute: false,
        handler: async (_request, reply) => reply.code(301).header('location', `${DAV_PREFIX}/`).send(),
      });
    }

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method === 'OPTIONS') {
        return reply
          .code(200)
          .header('dav', DAV_HEADER)
          .header('allow', ALLOW_ALL)
          .header('content-length', '0')
          .send();
      }
      return dispatch(ctx, callerOf(request), request, reply);
    };
    for (const url of [DAV_PREFIX, `${DAV_PREFIX}/*`]) {
      app.route({ method: METHODS, url, exposeHeadRoute: false, handler });
    }
    // Plain WebDAV for files under /dav/files: the same authentication, its own (streaming) bodies.
    await app.register(filesRoutes(ctx));
  };
}

async function dispatch(ctx: Context, caller: Caller, request: FastifyRequest, reply: FastifyReply) {
  const path = request.url;
  const method = request.method;
  reply.header('dav', DAV_HEADER);
  switch (method) {
    case 'PROPFIND': {
      const target = await resolveTarget(ctx, caller, path);
      const scope = createScope(ctx, caller);
      return sendMultistatus(reply, await propfind(scope, target, xmlBody(request), depthOf(request)));
    }
    case 'REPORT': {
      const target = await resolveTarget(ctx, caller, path);
      const scope = createScope(ctx, caller);
      const body = xmlBody(request);
      if (body?.ns === CALDAV && body.name === 'free-busy-query') {
        return reply
          .code(200)
          .type('text/calendar; charset=utf-8')
          .send(await freeBusyQuery(scope, target, body));
      }
      return sendMultistatus(reply, await report(scope, target, body));
    }
    case 'PROPPATCH': {
      const target = await resolveTarget(ctx, caller, path);
      return sendMultistatus(reply, once(await proppatch(ctx, caller, target, xmlBody(request))));
    }
    case 'MKCOL':
    case 'MKCALENDAR': {
      const target = await resolveTarget(ctx, caller, path);
      await makeCollection(ctx, caller, target, xmlBody(request), method);
      return reply.code(201).header('content-length', '0').send();
    }
    case 'GET':
    case 'HEAD': {
      const target = await resolveTarget(ctx, caller, path, { withContent: method === 'GET' });
      if (target.kind !== 'item') throw notAllowed(target);
      return getItem(request, reply, target);
    }
    case 'PUT': {
      const target = await resolveTarget(ctx, caller, path);
      if (target.kind !== 'item') throw notAllowed(target);
      return putItem(ctx, caller, request, reply, target);
    }
    case 'DELETE': {
      const target = await resolveTarget(ctx, caller, path);
      if (target.kind === 'item') return deleteItem(ctx, caller, request, reply, target);
      await removeCollection(ctx, caller, target);
      return reply.code(204).send();
    }
    default:
      throw new AppError('method_not_allowed', `${method} is not supported.`, { allow: ALLOW_ALL });
  }
}

/** Whether the URL's path is /dav or below it (the query, if any, is not part of the path). */
function isDavPath(url: string): boolean {
  if (!url.startsWith(DAV_PREFIX)) return false;
  const next = url.charCodeAt(DAV_PREFIX.length);
  // Past the end (NaN), '/' or '?'.
  return Number.isNaN(next) || next === 0x2f || next === 0x3f;
}

function notAllowed(target: DavResource): AppError {
  const allow = target.kind === 'collection' ? ALLOW_COLLECTION : 'OPTIONS, PROPFIND, REPORT';
  return new AppError('method_not_allowed', 'Only items can be read or written directly.', { allow });
}

function xmlBody(request: FastifyRequest): XmlElement | null {
  const body = request.body;
  if (!(body instanceof Buffer) || body.toString('utf8').trim().length === 0) return null;
  return parseXml(body);
}

/** Depth 0 or 1; a missing header or infinity is answered as 1 (RFC 4918 lets servers refuse infinity). */
function depthOf(request: FastifyRequest): 0 | 1 {
  const depth = String(request.headers.depth ?? 'infinity')
    .trim()
    .toLowerCase();
  if (depth === '0') return 0;
  if (depth === '1' || depth === 'infinity') return 1;
  throw new AppError('invalid_request', `Invalid Depth header '${depth}'.`);
}

async function* once(part: string): AsyncGenerator<string> {
  yield part;
}

/** Parts are sent in chunks of about this many characters: one write per part would cost more than the XML. */
const CHUNK_CHARS = 64 * 1024;

function sendMultistatus(reply: FastifyReply, parts: AsyncIterable<string>): FastifyReply {
  async function* document(): AsyncGenerator<string> {
    let pending = MULTISTATUS_OPEN;
    for await (const part of parts) {
      pending += part;
      if (pending.length >= CHUNK_CHARS) {
        yield pending;
        pending = '';
      }
    }
    yield pending + MULTISTATUS_CLOSE;
  }
  return reply
    .code(207)
    .type('application/xml; charset=utf-8')
    .header('cache-control', 'private, no-cache')
    .send(Readable.from(document()));
}
