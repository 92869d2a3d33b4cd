import { AppError, type ErrorCode } from '@holdfast/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { logUnexpected, toAppError } from '../http/problem.js';
import { errorBody, type QName } from './xml-write.js';

/**
 * A DAV failure: an AppError whose details name the RFC precondition
 * (`<d:error><cal:valid-calendar-data/></d:error>`) clients branch on.
 */
export function davError(code: ErrorCode, message: string, precondition?: QName): AppError {
  return new AppError(code, message, precondition ? { precondition } : undefined);
}

function preconditionOf(error: AppError): QName | null {
  const value = error.details?.precondition as Partial<QName> | undefined;
  return typeof value?.ns === 'string' && typeof value.name === 'string' ? { ns: value.ns, name: value.name } : null;
}

export const BASIC_CHALLENGE = 'Basic realm="Holdfast", charset="UTF-8"';

/** DAV clients get XML errors, never problem+json: many show the body's text to the user. */
export function sendDavError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.code === 'unauthorized') reply.header('www-authenticate', BASIC_CHALLENGE);
  if (typeof error.details?.retryAfter === 'number') reply.header('retry-after', String(error.details.retryAfter));
  if (error.code === 'method_not_allowed' && typeof error.details?.allow === 'string') {
    reply.header('allow', error.details.allow);
  }
  return reply
    .code(error.status)
    .type('application/xml; charset=utf-8')
    .send(errorBody(preconditionOf(error), error.message));
}

export function davErrorHandler(this: unknown, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error: appError, unexpected } = toAppError(error);
  if (unexpected) logUnexpected(request, error);
  else request.log.debug({ code: appError.code }, 'dav request failed');
  return sendDavError(reply, appError);
}
