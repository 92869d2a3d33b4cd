import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch } from '../../api/http';
import { useSession } from '../../session/session';
import { ago } from '../../words/words';
import { AppPasswords } from './app-passwords';

interface Device {
  id: string;
  name: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
}

function DeviceRow({ device }: { device: Device }) {
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(device.name);
  const rename = useMutation({
    mutationFn: (next: string) =>
      apiFetch(`/v1/devices/${encodeURIComponent(device.id)}`, { method: 'PATCH', body: { name: next } }),
    onSuccess: () => {
      setEditing(false);
      return client.invalidateQueries({ queryKey: ['devices'] });
    },
  });
  const revoke = useMutation({
    mutationFn: () => apiFetch(`/v1/devices/${encodeURIComponent(device.id)}`, { method: 'DELETE' }),
    // Revoking this browser ends its session: reading the session again sends it to the sign-in page.
    onSuccess: () => client.invalidateQueries(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    rename.mutate(name);
  };
  return (
    <li className="card">
      {editing ? (
        <form onSubmit={submit} className="actions">
          <label htmlFor={`device-name-${device.id}`}>New name</label>
          <input
            id={`device-name-${device.id}`}
            value={name}
            maxLength={200}
            required
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" disabled={rename.isPending}>
            Save name
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <h3>
          {device.name}
          {device.current ? ' (this browser)' : ''}
        </h3>
      )}
      <p className="meta">
        Signed in {new Date(device.createdAt).toLocaleDateString()}, last seen {ago(device.lastSeenAt)}
      </p>
      {(rename.error ?? revoke.error) && <p role="alert">{(rename.error ?? revoke.error)?.message}</p>}
      {!editing && (
        <div className="actions">
          <button type="button" onClick={() => setEditing(true)} aria-label={`Rename ${device.name}`}>
            Rename
          </button>
          <button
            type="button"
            onClick={() => revoke.mutate()}
            disabled={revoke.isPending}
            aria-label={`Sign out ${device.name}`}
          >
            {device.current ? 'Sign out this browser' : 'Sign out this device'}
          </button>
        </div>
      )}
    </li>
  );
}

/** Devices (list, rename, sign out) and app passwords for contacts and calendar apps. */
export function DevicesPage() {
  const session = useSession();
  const devices = useQuery({ queryKey: ['devices'], queryFn: () => apiFetch<{ devices: Device[] }>('/v1/devices') });
  const live = devices.data?.devices.filter((d) => !d.revokedAt) ?? [];
  const revoked = devices.data?.devices.filter((d) => d.revokedAt) ?? [];
  return (
    <>
      <h1>Devices</h1>
      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading">Signed in</h2>
        <p>Each phone, computer and browser signed in to your account. Signing one out stops it syncing at once.</p>
        {devices.isError && <p role="alert">{devices.error.message}</p>}
        <ul className="entries">
          {live.map((device) => (
            <DeviceRow key={device.id} device={device} />
          ))}
        </ul>
        {revoked.length > 0 && (
          <details>
            <summary>Signed out earlier ({revoked.length})</summary>
            <ul>
              {revoked.map((device) => (
                <li key={device.id}>
                  {device.name}: signed out {new Date(device.revokedAt ?? '').toLocaleString()}
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      <AppPasswords username={session.data?.user.username ?? ''} />
    </>
  );
}
