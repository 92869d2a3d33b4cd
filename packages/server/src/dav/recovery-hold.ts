import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, Context } from '../context.js';
import { recoveryHoldOf } from '../sync/recovery.js';
import { errorBody } from './xml-write.js';

/**
 * What a held account's DAV clients may do while the server recovers lost
 * data (sync/recovery.ts). Reads are answered 503 with Retry-After: a
 * listing that lacks what was lost would make the client delete its copy,
 * and a failed sync deletes nothing. PUT, MKCOL and MKCALENDAR go through:
 * they can only bring back what a client holds (a create of an item the
 * server lost, or of a lost collection). DELETE and PROPPATCH wait: a delete
 * decided against the pre-loss state cannot be told from one the user meant,
 * and the client sends it again after the retry.
 */
const HELD = new Set(['PROPFIND', 'REPORT', 'GET', 'HEAD', 'DELETE', 'PROPPATCH', 'COPY', 'MOVE']);

/** Whether a request with this method waits while its account is held (only these need the hold read). */
export function mayBeHeld(method: string): boolean {
  return HELD.has(method);
}

/** Answers with 503 when the caller's account is held; returns whether it did. For methods that {@link mayBeHeld}. */
export async function answerIfHeld(
  ctx: Context,
  caller: Caller,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const hold = await recoveryHoldOf(ctx.db, caller.userId);
  if (!hold) return false;
  request.log.info({ reason: hold.reason }, 'dav request held: the server is recovering lost data');
  await reply
    .code(503)
    .header('retry-after', String(ctx.config.davRecoveryRetryAfterSeconds))
    .header('cache-control', 'no-store')
    .type('application/xml; charset=utf-8')
    .send(
      errorBody(
        null,
        'The server is recovering lost data. Your contacts and calendars are kept as they are on this device; sync again later.',
      ),
    );
  return true;
}
