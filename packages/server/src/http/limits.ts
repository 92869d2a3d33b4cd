import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

/**
 * Routes whose JSON bodies carry bulk data. Every other parsed body is held
 * to `maxControlBodyBytes`, so an unauthenticated or idle client cannot make
 * the server buffer megabytes it will never use. Blob uploads and imports
 * stream their bodies with their own limits and are not listed here.
 */
const LARGE_BODY_ROUTES = new Set(['/v1/push', '/v1/reseed/inventory']);

/** Node's request, header, keep-alive and socket-idle timeouts, as Fastify options. */
export function connectionTimeouts(config: Config): {
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
  http: ServerOptions;
} {
  const requestTimeout = config.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(config.headersTimeoutMs, requestTimeout);
  return {
    requestTimeout,
    // Never advertise keep-alive longer than the idle timeout lets a socket live.
    keepAliveTimeout: Math.min(config.keepAliveTimeoutMs, config.idleTimeoutMs),
    // Socket inactivity: a stalled body or a silent client is dropped, however the request is going.
    connectionTimeout: config.idleTimeoutMs,
    http: {
      headersTimeout,
      // Node enforces the request and headers timeouts only when it sweeps, so sweep often enough to matter.
      connectionsCheckingInterval: Math.max(100, Math.min(headersTimeout, 30_000) / 4),
    },
  };
}

/** Per-route body limits, and no reading of a body the server has already answered. */
export function largeBodies(app: FastifyInstance, config: Config): void {
  app.addHook('onRoute', (route) => {
    if (LARGE_BODY_ROUTES.has(route.url) && route.bodyLimit === undefined) route.bodyLimit = config.maxBodyBytes;
  });
  // An answer sent before its body arrived (401, 413, …) ends the connection instead of reading
  // the rest of a body nobody will use. A lingering close: the server's side ends at once, and what
  // the client is still sending is discarded for a moment before the socket goes, so the client
  // reads the answer rather than a reset.
  // Fastify asks Node to close such a connection at once, which resets it while the client is still
  // sending, and a reset can swallow the answer; the close is done below instead.
  // A small unread body (a PROPFIND answered by a redirect or a 401 challenge) is drained instead:
  // clients such as aiohttp reuse the connection for the next request and read a close as a failure.
  const drainable = (request: FastifyRequest) => {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    return Number.isFinite(declared) && declared <= config.maxControlBodyBytes;
  };
  // A request without a body has nothing unread, even when it is answered at once, before Node has
  // marked it complete (that happens right after its headers are handled).
  const unread = (request: FastifyRequest) => {
    if (request.raw.complete) return false;
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
    return encoding !== undefined || (length !== undefined && length !== '0');
  };
  // Callback hooks: they run for every request and wait for nothing, so no promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (unread(request)) {
      if (drainable(request)) request.raw.resume();
      else {
        reply.removeHeader('connection');
        // Discarding still means reading: a client that keeps sending at full speed would have the server read and
        // throw away hundreds of megabytes in the linger, so reading stops after `lingerMaxBytes`. The connection is
        // not cut there: a reset that arrives before the client has read the answer discards the answer with it
        // (Linux drops what a socket has not yet read when a reset comes), so the client keeps the rest of the
        // linger to read it while its sends wait on flow control. Counted here, before the answer is written: a body
        // still unread when the answer is done is set by Node to be discarded out of sight, without data events.
        let discarded = 0;
        request.raw.on('data', (chunk: Buffer) => {
          discarded += chunk.length;
          if (discarded > config.lingerMaxBytes) request.raw.pause();
        });
      }
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    if (unread(request) && !drainable(request)) {
      const socket = request.raw.socket;
      socket.end();
      const timer = setTimeout(() => socket.destroy(), config.lingerMs).unref();
      socket.once('close', () => clearTimeout(timer));
    }
    done();
  });
}

/**
 * Caps open connections, in total and per client address (excess sockets are
 * closed on accept), and closes idle ones.
 */
export function guardConnections(app: FastifyInstance, config: Config): void {
  const server = app.server;
  // Idle means waiting on the client. A socket whose request has fully arrived and is still being
  // answered (a long REPORT, an event stream) is the server's own work, bounded by its own budgets.
  const answering = new WeakMap<Socket, ServerResponse>();
  // Node's own event rather than a Fastify hook: no hook step per request.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => answering.set(req.socket, res));
  server.on('timeout', (socket: Socket) => {
    const res = answering.get(socket);
    const req = res?.req;
    if (res && req && req.socket === socket && req.complete && !res.writableEnded) return;
    socket.destroy();
  });
  server.maxConnections = config.maxConnections;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > config.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
