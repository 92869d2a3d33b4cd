import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch } from '../../api/http';
import { describeError } from '../../components/collection-items';
import { PasswordSection, SignOutEverywhere } from './password-and-sessions';

/** What `GET /v1/me` and `PATCH /v1/me` answer, as far as this page reads it. */
interface Me {
  username: string;
  admin?: boolean;
  email: string | null;
}

/** The person's own account: where they are told about incidents, their password, and their browser sessions. */
export function AccountPage() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => apiFetch<Me>('/v1/me') });
  return (
    <>
      <h1>Account</h1>
      {me.isPending && <p>Loading…</p>}
      {me.isError && <p role="alert">{describeError(me.error)}</p>}
      {me.data && (
        <p>
          You are signed in as <strong>{me.data.username}</strong>.
        </p>
      )}
      {me.data && <EmailSection current={me.data.email} />}
      <PasswordSection />
      <SignOutEverywhere />
    </>
  );
}

function EmailSection({ current }: { current: string | null }) {
  const client = useQueryClient();
  const [draft, setDraft] = useState(current ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (email: string | null) => apiFetch<Me>('/v1/me', { method: 'PATCH', body: { email } }),
    onMutate: () => {
      setProblem(null);
      setDone(null);
    },
    onSuccess: (me) => {
      client.setQueryData(['me'], me);
      setDraft(me.email ?? '');
      setDone(me.email ? `Saved. Notices now go to ${me.email}.` : 'Removed. This server no longer mails you.');
    },
    onError: (error) => setProblem(describeError(error)),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const email = draft.trim();
    if (email === '') {
      setDone(null);
      setProblem('Type an e-mail address, or use "Remove address" to stop being mailed.');
      return;
    }
    save.mutate(email);
  };
  return (
    <section aria-labelledby="email-heading">
      <h2 id="email-heading">E-mail address</h2>
      <p>
        If something happens to your data, such as the server losing recent changes, a restore from a backup, or a large
        deletion being stopped, this server tells you by e-mail at this address, as well as on the page "What happened".
        Without an address you only learn of it when you next open the portal, or from your devices.
      </p>
      <p>
        {current ? (
          <>
            Notices go to <strong>{current}</strong>.
          </>
        ) : (
          'You have no e-mail address here, so you are not told by mail.'
        )}
      </p>
      {/* The server's check is the one that counts; its answer is shown in words, not as a browser bubble. */}
      <form className="stacked" onSubmit={submit} noValidate>
        <label htmlFor="account-email">{current ? 'New e-mail address' : 'E-mail address'}</label>
        <input
          id="account-email"
          type="email"
          autoComplete="email"
          maxLength={254}
          value={draft}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'account-email-problem' : undefined}
          onChange={(e) => setDraft(e.target.value)}
        />
        <div className="actions">
          <button type="submit" disabled={save.isPending}>
            Save address
          </button>
          {current && (
            <button type="button" disabled={save.isPending} onClick={() => save.mutate(null)}>
              Remove address
            </button>
          )}
        </div>
      </form>
      {problem && (
        <p role="alert" id="account-email-problem" className="error">
          {problem}
        </p>
      )}
      <p role="status">{done}</p>
    </section>
  );
}
