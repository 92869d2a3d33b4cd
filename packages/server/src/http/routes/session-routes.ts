import { AppError, sessionRequestSchema } from '@holdfast/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  authenticateSession,
  csrfTokenMatches,
  endAllSessions,
  endSession,
  SESSION_COOKIE,
  startSession,
} from '../../auth/sessions.js';
import type { Context } from '../../context.js';
import { callerOf } from '../app.js';
import { parseInput } from '../validate.js';

/** The name a browser session gets in the devices list. */
const SESSION_DEVICE_NAME = 'Web browser';

function cookieOptions(request: FastifyRequest) {
  // request.protocol honours X-Forwarded-Proto only from a trusted proxy (trustProxy in app.ts).
  return { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: request.protocol === 'https' };
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

/**
 * /v1/session: sign in, read and sign out a web portal session. These routes
 * read the cookie themselves (the auth hook leaves them alone) so that an
 * ended session is answered with what happened to it, and sign-out works
 * whatever state the session is in. /v1/sessions signs every session of the
 * caller out.
 *
 * Signing in and out of one browser does not wait for the backup targets to
 * hold the session row: a session lost with the server costs one more
 * sign-in, a signed-out browser has dropped its cookie anyway, and waiting
 * would slow (or, with backupAckOnTimeout=refuse, fail) the portal exactly
 * when the targets are in trouble. Signing every session out (a lost
 * laptop) waits, as device logins, revocations and app passwords do.
 */
export function sessionRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.post('/v1/session', { bodyLimit: ctx.config.maxLoginBodyBytes }, async (request, reply) => {
      const body = parseInput(sessionRequestSchema, request.body, 'sign-in');
      const { token, info } = await startSession(ctx, {
        ...body,
        clientAddress: request.ip,
        deviceName: SESSION_DEVICE_NAME,
      });
      reply.setCookie(SESSION_COOKIE, token, cookieOptions(request));
      return info;
    });

    app.get('/v1/session', async (request) => {
      const token = request.cookies[SESSION_COOKIE];
      if (!token) throw new AppError('unauthorized', 'You are not signed in.');
      // An ended session's cookie is kept (sign-in replaces it), so every visit until then says what happened.
      const session = await authenticateSession(ctx, token);
      return session.info;
    });

    app.delete('/v1/session', async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) {
        const live = await authenticateSession(ctx, token).catch(() => null);
        // A live session is signed out only by its own page; an ended one has nothing left to protect.
        if (live && !csrfTokenMatches(token, headerValue(request.headers['x-csrf-token'])))
          throw new AppError('csrf_failed', "The request did not carry this session's x-csrf-token.");
        await endSession(ctx, token);
      }
      clearSessionCookie(request, reply);
      return reply.code(204).send();
    });

    // Authenticated like any other route (cookie with CSRF token, or a device's bearer token).
    app.delete('/v1/sessions', { config: { changesAccounts: true } }, async (request, reply) => {
      const signedOut = await endAllSessions(ctx, callerOf(request).userId);
      if (request.cookies[SESSION_COOKIE]) clearSessionCookie(request, reply);
      return { signedOut };
    });
  };
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
