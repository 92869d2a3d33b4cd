import { type QueryClient, useQuery } from '@tanstack/react-query';
import { ApiError, apiFetch, setCsrfToken } from '../api/http';

/** What `GET /v1/session` and `POST /v1/session` answer (docs/protocol.md, "Web sessions"). */
export interface Session {
  user: { id: string; username: string };
  csrfToken: string;
  expiresAt: string;
}

export const SESSION_KEY = ['session'] as const;

/**
 * Error codes that mean the session is over. Each sends the person to the
 * sign-in page once, with the reason in its address; nothing else redirects.
 */
export const ENDED_CODES = new Set(['unauthorized', 'session_expired', 'session_revoked', 'account_disabled']);

export function isSessionEnded(error: unknown): error is ApiError {
  return error instanceof ApiError && ENDED_CODES.has(error.code);
}

async function fetchSession(): Promise<Session> {
  const session = await apiFetch<Session>('/v1/session');
  setCsrfToken(session.csrfToken);
  return session;
}

/** The current session. Read once; an API answer that says it ended makes it read again (main.tsx). */
export function useSession() {
  return useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, staleTime: Number.POSITIVE_INFINITY });
}

/** After a sign-in: the session is known without asking again. */
export function rememberSession(client: QueryClient, session: Session): void {
  setCsrfToken(session.csrfToken);
  client.setQueryData(SESSION_KEY, session);
}

/** Only paths inside the portal are followed after sign-in: never another site. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/sign-in')) return '/';
  return next;
}

/** Why the sign-in page is shown, in the words the person reads there. */
export function reasonText(reason: string | null): string | null {
  switch (reason) {
    case 'session_expired':
      return 'Your session has expired. Sign in again to continue.';
    case 'session_revoked':
      return 'This browser was signed out (from the devices list or by signing out). Sign in again to continue.';
    case 'account_disabled':
      return 'This account is disabled, so signing in again will not help. Ask the operator of this server.';
    case 'signed_out':
      return 'You are signed out.';
    case 'signed_out_everywhere':
      return 'You are signed out of every browser.';
    case 'unauthorized':
      return 'Sign in to see your data.';
    default:
      return null;
  }
}
