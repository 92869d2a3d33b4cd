import { AppError, anyCause, type ErrorCode } from '@holdfast/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../store/database.js';

const fastifyStatusCodes: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Error codes that mean the disk under the database or the blob store is full (SQLite, Node, PostgreSQL). */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/** Whether `error` (or what it wraps) says the server's disk is full. */
export function isDiskFull(error: unknown): boolean {
  return anyCause(error, (e) => typeof e.code === 'string' && DISK_FULL_CODES.has(e.code));
}

/** How long a client is asked to wait before retrying a request the database could not take. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Turns anything thrown into an AppError; unknown errors become `internal` and are logged by the caller. */
export function toAppError(error: unknown): { error: AppError; unexpected: boolean } {
  if (error instanceof AppError) return { error, unexpected: false };
  if (isDiskFull(error)) {
    // A 503 keeps clients holding the write and retrying; the transaction was rolled back, so nothing is half-written.
    return {
      error: new AppError(
        'unavailable',
        "The server's data disk is full: this write was not stored. Retry once space is freed on the server.",
        { reason: 'disk_full' },
      ),
      unexpected: true,
    };
  }
  if (isDatabaseUnavailable(error)) {
    // A 503 with Retry-After: clients keep what they sent and try again; the transaction never committed.
    return {
      error: new AppError(
        'unavailable',
        'The database is not reachable right now: this request was not carried out. Retry shortly.',
        { reason: 'database_unavailable', retryAfter: DATABASE_RETRY_AFTER_SECONDS },
      ),
      unexpected: true,
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = fastifyStatusCodes[status] ?? 'invalid_request';
    return { error: new AppError(code, fastifyError.message ?? code), unexpected: false };
  }
  return {
    error: new AppError('internal', 'Something went wrong on the server; nothing was half-written.'),
    unexpected: true,
  };
}

/** Every error leaves as application/problem+json with a stable code: never HTML, never a redirect. */
export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  const problem = error.toProblem();
  if (typeof error.details?.retryAfter === 'number') reply.header('retry-after', String(error.details.retryAfter));
  if (error.code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="holdfast"');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A client that hangs up mid-request is routine (a phone losing signal), not a server fault. */
export function isClientAbort(error: unknown, request: FastifyRequest): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ABORT_CODES.has(code)) return true;
  return request.raw.aborted || (request.raw.destroyed && !request.raw.complete);
}

/** Logs an error no handler expected: at info when the client went away, else at error. */
export function logUnexpected(request: FastifyRequest, error: unknown): void {
  if (isClientAbort(error, request)) {
    request.log.info({ err: (error as Error)?.message }, 'client aborted the request');
  } else if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: (error as Error)?.message }, 'the database is unavailable: request answered 503');
  } else if (isDiskFull(error)) {
    request.log.error(
      { err: (error as Error)?.message },
      'the data disk is full: writes are refused until space is freed',
    );
  } else request.log.error({ err: error }, 'unexpected error');
}

export function errorHandler(this: unknown, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error: appError, unexpected } = toAppError(error);
  if (unexpected) logUnexpected(request, error);
  else request.log.debug({ code: appError.code }, 'request failed');
  return sendProblem(reply, appError);
}
