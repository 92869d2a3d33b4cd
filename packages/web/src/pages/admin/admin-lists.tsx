import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../api/http';
import { describeError } from '../../components/collection-items';
import { type AdminUser, bytes, type Incident, type Report } from './admin-api';

export function AdminUsers() {
  const queryClient = useQueryClient();
  const users = useQuery({
    queryKey: ['admin', 'users'],
    queryFn: () => apiFetch<{ users: AdminUser[] }>('/v1/admin/users'),
  });
  const [message, setMessage] = useState<string | null>(null);

  async function toggle(user: AdminUser) {
    const action = user.disabled ? 'enable' : 'disable';
    if (!user.disabled && !window.confirm(`Disable ${user.username}? Their devices and sessions stop at once.`)) return;
    setMessage(null);
    try {
      await apiFetch(`/v1/admin/users/${encodeURIComponent(user.id)}/${action}`, { method: 'POST' });
      setMessage(`${user.username} is ${action}d.`);
    } catch (e) {
      setMessage(describeError(e));
    }
    await queryClient.invalidateQueries({ queryKey: ['admin'] });
  }

  return (
    <section aria-labelledby="admin-users">
      <h2 id="admin-users">Users</h2>
      <p aria-live="polite">{message}</p>
      {users.isPending ? (
        <p>Loading…</p>
      ) : users.isError ? (
        <p role="alert">{describeError(users.error)}</p>
      ) : (
        <div className="admin-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Items</th>
                <th scope="col">Storage</th>
                <th scope="col">Last seen</th>
                <th scope="col">Account</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.id}>
                  <th scope="row">
                    {u.username}
                    {u.admin && ' (operator)'}
                  </th>
                  <td>
                    {u.items}
                    {u.quotaItems > 0 && ` of ${u.quotaItems}`}
                  </td>
                  <td>
                    {bytes(u.bytes)}
                    {u.quotaBytes > 0 && ` of ${bytes(u.quotaBytes)}`}
                  </td>
                  <td>{u.lastSeenAt ? new Date(u.lastSeenAt).toLocaleString() : 'never'}</td>
                  <td>
                    {u.disabled ? 'Disabled ' : 'Active '}
                    <button type="button" onClick={() => void toggle(u)}>
                      {u.disabled ? `Enable ${u.username}` : `Disable ${u.username}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function AdminIncidents() {
  const incidents = useQuery({
    queryKey: ['admin', 'incidents'],
    // Oldest first, 100 a page: read on to the newest (incidents are rare; ten pages is years of them).
    queryFn: async () => {
      const entries: Incident[] = [];
      for (let page = 0; page < 10; page++) {
        const after = entries.at(-1)?.seq ?? 0;
        const next = await apiFetch<{ entries: Incident[] }>(`/v1/admin/incidents?limit=100&after=${after}`);
        entries.push(...next.entries);
        if (next.entries.length < 100) break;
      }
      return { entries };
    },
  });
  return (
    <section aria-labelledby="admin-incidents">
      <h2 id="admin-incidents">Incidents</h2>
      {incidents.isPending ? (
        <p>Loading…</p>
      ) : incidents.isError ? (
        <p role="alert">{describeError(incidents.error)}</p>
      ) : incidents.data.entries.length === 0 ? (
        <p>No incidents.</p>
      ) : (
        <ol className="admin-incidents" reversed>
          {[...incidents.data.entries].reverse().map((entry) => (
            <li key={entry.seq}>
              <p>
                <strong>{entry.kind.replaceAll('_', ' ')}</strong> · {new Date(entry.at).toLocaleString()}
              </p>
              {entry.summary && <p>{entry.summary}</p>}
              {entry.affectedUsers != null && (
                <p>
                  {entry.affectedUsers} user{entry.affectedUsers === 1 ? '' : 's'} affected
                  {entry.users && entry.users.length > 0 && (
                    <>
                      :{' '}
                      {entry.users
                        .map((u) => `${u.username} (${u.items} items in ${u.collections} collections)`)
                        .join(', ')}
                    </>
                  )}
                </p>
              )}
              {entry.recovered && (
                <p>
                  {entry.recovered.length === 0
                    ? 'Nothing has come back yet.'
                    : `Recovery so far: ${entry.recovered
                        .map((r) => `${r.username ? `${r.username}: ` : ''}${r.summary ?? r.kind}`)
                        .join('; ')}`}
                </p>
              )}
              {entry.pending && entry.pending.length > 0 && (
                <p>
                  Still waiting for:{' '}
                  {entry.pending
                    .map((p) => `${p.username} (${p.devices} device${p.devices === 1 ? '' : 's'} to re-seed)`)
                    .join(', ')}
                </p>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function AdminReports() {
  const reports = useQuery({
    queryKey: ['admin', 'reports'],
    queryFn: () => apiFetch<{ reports: Report[] }>('/v1/admin/reports'),
  });
  return (
    <section aria-labelledby="admin-reports">
      <h2 id="admin-reports">Reports from users</h2>
      {reports.isPending ? (
        <p>Loading…</p>
      ) : reports.isError ? (
        <p role="alert">{describeError(reports.error)}</p>
      ) : reports.data.reports.length === 0 ? (
        <p>No reports.</p>
      ) : (
        <ul className="admin-reports">
          {reports.data.reports.map((r) => (
            <li key={r.seq}>
              <p>
                <strong>{r.username}</strong> · {new Date(r.at).toLocaleString()}
                {r.collectionId && ` · collection ${r.collectionId}`}
              </p>
              <p className="admin-report-text">{r.text}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
