import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { apiFetch, setCsrfToken } from '../../api/http';
import { describeError } from '../../components/collection-items';
import { count } from '../../words/words';

/** Changing the person's own password; the server ends their other browser sessions. */
export function PasswordSection() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: () =>
      apiFetch<{ signedOut: number }>('/v1/me/password', {
        method: 'POST',
        body: { currentPassword: current, newPassword: next },
      }),
    onSuccess: ({ signedOut }) => {
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(
        signedOut === 0
          ? 'Your password is changed.'
          : `Your password is changed, and ${count(signedOut, 'other browser was', 'other browsers were')} signed out.`,
      );
    },
    onError: (error) => setProblem(describeError(error)),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setDone(null);
    if (next !== again) {
      setProblem('The two new passwords are not the same.');
      return;
    }
    change.mutate();
  };
  return (
    <section aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <p>
        Changing your password signs out every other browser. Phones and apps that sync, and app passwords, keep
        working; sign them out on the Devices page if you think someone else has them.
      </p>
      <form className="stacked" onSubmit={submit} noValidate>
        <label htmlFor="password-current">Current password</label>
        <input
          id="password-current"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <label htmlFor="password-new">New password (at least 8 characters)</label>
        <input
          id="password-new"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <label htmlFor="password-again">New password again</label>
        <input
          id="password-again"
          type="password"
          autoComplete="new-password"
          value={again}
          onChange={(e) => setAgain(e.target.value)}
        />
        <div className="actions">
          <button type="submit" disabled={change.isPending}>
            Change password
          </button>
        </div>
      </form>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <p role="status">{done}</p>
    </section>
  );
}

/** Ends every browser session of the person, this one too. */
export function SignOutEverywhere() {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const signOut = useMutation({
    mutationFn: () => apiFetch<{ signedOut: number }>('/v1/sessions', { method: 'DELETE' }),
    onSuccess: () => {
      setCsrfToken(null);
      client.clear();
      navigate('/sign-in?reason=signed_out_everywhere', { replace: true });
    },
  });
  const confirmAndSignOut = () => {
    if (window.confirm('Sign out of every browser, this one too?')) signOut.mutate();
  };
  return (
    <section aria-labelledby="everywhere-heading">
      <h2 id="everywhere-heading">Sign out everywhere</h2>
      <p>
        Signs out every browser where you use this portal, this one too, for example one you left signed in on someone
        else's computer. Phones and apps that sync stay signed in; sign them out one by one on the Devices page.
      </p>
      <button type="button" onClick={confirmAndSignOut} disabled={signOut.isPending}>
        Sign out everywhere
      </button>
      {signOut.isError && (
        <p role="alert" className="error">
          {describeError(signOut.error)}
        </p>
      )}
    </section>
  );
}
