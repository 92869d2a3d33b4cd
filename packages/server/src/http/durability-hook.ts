import { AppError } from '@holdfast/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { awaitAccountDurability, awaitDurability, type Durability } from '../backup/ack-gate.js';
import type { Context } from '../context.js';
import { readHead } from '../store/revision-log.js';
import type { WriteReceipt } from '../sync/write-receipt.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route changes the account tables (devices, app passwords, users):
     * a successful answer waits until an account state holding the change is
     * on the backup targets, as a revision's does for its segment.
     */
    changesAccounts?: boolean;
  }
  interface FastifyRequest {
    writeReceipt: WriteReceipt | null;
    /** Set once the request's writes were waited for: how durable they are. */
    durability: Promise<Durability> | null;
  }
}

/** Response header naming how durable a write is when it is acknowledged: `target` or `local`. */
export const DURABILITY_HEADER = 'holdfast-durability';

/**
 * Waits until what `request` committed (and `seq`, for writes answered from
 * an earlier receipt) may be acknowledged, and says how durable it is.
 * Throws `backup_unavailable` when the targets time out and operators chose
 * to refuse.
 */
export function acknowledge(ctx: Context, request: FastifyRequest, seq = 0): Promise<Durability> {
  const committed = Math.max(seq, request.writeReceipt?.seq ?? 0);
  request.durability ??= awaitDurability(ctx, committed);
  return request.durability;
}

/**
 * Every route runs with a write receipt open, handed on with its caller
 * (writes take the caller as their writer); before any response of a
 * request that committed something leaves, it waits for the backup
 * acknowledgement and names the durability reached in a header. So no write
 * route (JSON, DAV, import, restore) can acknowledge before its data is safe.
 * Register before any route, after the hooks that set `request.caller`.
 */
export function registerDurabilityHook(app: FastifyInstance, ctx: Context): void {
  app.decorateRequest('writeReceipt', null);
  app.decorateRequest('durability', null);
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    // Read once here: `request.routeOptions` builds a new object at every read.
    const changesAccounts = route.config?.changesAccounts === true;
    route.handler = function receiptHandler(this: FastifyInstance, request, reply) {
      const receipt: WriteReceipt = changesAccounts ? { seq: 0, accounts: true } : { seq: 0 };
      request.writeReceipt = receipt;
      // A copy: the receipt belongs to this request, whatever else holds the caller the auth hook resolved.
      if (request.caller) request.caller = { ...request.caller, receipt };
      return handler.call(this, request, reply);
    };
  });
  // A callback hook: most responses committed nothing and leave at once, without a promise of their own.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.writeReceipt?.accounts === true && reply.statusCode < 400)
      request.durability = withAccounts(ctx, request);
    if (!request.durability && (request.writeReceipt?.seq ?? 0) === 0 && !isDavWrite(request, reply)) {
      done(null, payload);
      return;
    }
    settle(ctx, request, reply, payload).then((settled) => done(null, settled), done);
  });
}

/** The payload to send once the request's writes may be acknowledged, or the problem that replaces it. */
async function settle(ctx: Context, request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (!request.durability && (request.writeReceipt?.seq ?? 0) === 0) {
    // A DAV write that changed nothing (a retried PUT of the same card) may repeat one not yet on a target:
    // it is answered once everything committed so far is, so retrying until success is safe.
    request.durability = awaitDurability(ctx, await readHead(ctx.db));
  }
  try {
    reply.header(DURABILITY_HEADER, await acknowledge(ctx, request));
    return payload;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return refuse(reply, error);
  }
}

/** What the request committed, and the account change it made, may be acknowledged: how durable both are. */
function withAccounts(ctx: Context, request: FastifyRequest): Promise<Durability> {
  return Promise.all([awaitAccountDurability(ctx), acknowledge(ctx, request)]).then(([accounts, revisions]) =>
    accounts === 'target' && revisions === 'target' ? 'target' : 'local',
  );
}

const DAV_WRITES = new Set(['PUT', 'DELETE', 'MKCOL', 'MKCALENDAR', 'PROPPATCH', 'MOVE', 'COPY', 'POST']);

function isDavWrite(request: FastifyRequest, reply: FastifyReply): boolean {
  return (
    reply.statusCode < 300 &&
    DAV_WRITES.has(request.method) &&
    (request.url === '/dav' || request.url.startsWith('/dav/'))
  );
}

/** A response that was ready but may not acknowledge: replaced by the problem. */
function refuse(reply: FastifyReply, error: AppError): string {
  const problem = error.toProblem();
  reply.removeHeader('etag');
  reply.removeHeader('location');
  reply.header(DURABILITY_HEADER, 'local');
  reply.code(problem.status).type('application/problem+json');
  return JSON.stringify(problem);
}
