import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch } from '../../api/http';
import { ago } from '../../words/words';

interface AppPassword {
  id: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** How to set up each kind of app, with this server's address and the person's username filled in. */
function SetupSteps({ username, password }: { username: string; password: string }) {
  const origin = window.location.origin;
  return (
    <div className="card">
      <p>
        Your new app password (shown only now, copy it into the app): <code className="secret">{password}</code>
      </p>
      <dl className="fields">
        <dt>Server</dt>
        <dd>
          <code>{origin}</code> (or <code>{origin}/dav/</code> for apps that do not find it)
        </dd>
        <dt>Username</dt>
        <dd>
          <code>{username}</code>
        </dd>
        <dt>Password</dt>
        <dd>the app password above (never your account password)</dd>
      </dl>
      <h3>iPhone and iPad</h3>
      <p>
        Settings → Contacts (or Calendar) → Accounts → Add Account → Other → Add CardDAV Account (or CalDAV). Server:{' '}
        <code>{new URL(origin).host}</code>, then the username and app password.
      </p>
      <h3>Android with DAVx⁵</h3>
      <p>
        Add account → Login with URL and user name. Base URL: <code>{origin}</code>, then the username and app password.
      </p>
      <h3>Thunderbird</h3>
      <p>
        Address Book → New Address Book → Add CardDAV Address Book; Calendar → New Calendar → On the Network. Location:{' '}
        <code>{origin}/dav/</code>, username <code>{username}</code>, and the app password when asked.
      </p>
    </div>
  );
}

/** App passwords: one per contacts or calendar app, each revocable on its own. */
export function AppPasswords({ username }: { username: string }) {
  const client = useQueryClient();
  const [label, setLabel] = useState('');
  const list = useQuery({
    queryKey: ['app-passwords'],
    queryFn: () => apiFetch<{ appPasswords: AppPassword[] }>('/v1/app-passwords'),
  });
  const create = useMutation({
    mutationFn: (name: string) =>
      apiFetch<{ id: string; password: string }>('/v1/app-passwords', { method: 'POST', body: { label: name } }),
    onSuccess: () => {
      setLabel('');
      return client.invalidateQueries({ queryKey: ['app-passwords'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => apiFetch(`/v1/app-passwords/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['app-passwords'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(label);
  };
  const live = list.data?.appPasswords.filter((p) => !p.revokedAt) ?? [];
  return (
    <section aria-labelledby="app-passwords-heading">
      <h2 id="app-passwords-heading">App passwords for contacts and calendar apps</h2>
      <p>
        Apps such as iPhone Contacts, DAVx⁵ and Thunderbird sign in with an app password of their own, so you can revoke
        one app without changing your password.
      </p>
      <form className="actions" onSubmit={submit}>
        <label htmlFor="app-password-label">App name</label>
        <input
          id="app-password-label"
          required
          maxLength={100}
          placeholder="e.g. Phone contacts"
          value={label}
          onChange={(e) => setLabel(e.target.value)}
        />
        <button type="submit" disabled={create.isPending}>
          Create app password
        </button>
      </form>
      {create.isError && <p role="alert">{create.error.message}</p>}
      {create.data && <SetupSteps username={username} password={create.data.password} />}
      {revoke.isError && <p role="alert">{revoke.error.message}</p>}
      <ul className="entries">
        {live.map((p) => (
          <li key={p.id} className="card">
            <strong>{p.label}</strong>
            <span className="meta">
              {' '}
              created {new Date(p.createdAt).toLocaleDateString()}, last used {ago(p.lastUsedAt)}
            </span>{' '}
            <button type="button" onClick={() => revoke.mutate(p.id)} aria-label={`Revoke ${p.label}`}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
