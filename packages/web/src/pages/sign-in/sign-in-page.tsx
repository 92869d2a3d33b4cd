import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useLocation, useSearch } from 'wouter';
import { ApiError, apiFetch } from '../../api/http';
import { reasonText, rememberSession, type Session, safeNext } from '../../session/session';

function failureText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'unauthorized') return 'Wrong username or password.';
    if (error.code === 'account_disabled') return reasonText('account_disabled') ?? error.detail;
    if (error.code === 'rate_limited') {
      const wait = (error.body as { details?: { retryAfter?: number } } | null)?.details?.retryAfter;
      return `Too many failed sign-ins. Try again ${wait ? `in ${wait} seconds` : 'later'}.`;
    }
    return error.detail;
  }
  return 'The server could not be reached. Check the connection and try again.';
}

/**
 * The one sign-in page. It never redirects on a failure: whatever went wrong
 * (a wrong password, an ended session, a disabled account) is said here, so
 * sign-in cannot loop.
 */
export function SignInPage() {
  const params = new URLSearchParams(useSearch());
  const reason = reasonText(params.get('reason'));
  const next = safeNext(params.get('next'));
  const [, navigate] = useLocation();
  const client = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const message = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (failure) message.current?.focus();
  }, [failure]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      const session = await apiFetch<Session>('/v1/session', { method: 'POST', body: { username, password } });
      // Data cached for someone else (or for the ended session) is not shown to this one.
      client.clear();
      rememberSession(client, session);
      navigate(next, { replace: true });
    } catch (error) {
      setFailure(failureText(error));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Holdfast</h1>
      {reason && !failure && (
        <p className="notice" role="status">
          {reason}
        </p>
      )}
      {failure && (
        <p className="error" role="alert" tabIndex={-1} ref={message}>
          {failure}
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="sign-in-username">Username</label>
        <input
          id="sign-in-username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <label htmlFor="sign-in-password">Password</label>
        <input
          id="sign-in-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
