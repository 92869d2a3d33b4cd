import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiFetch } from '../../api/http';
import { describeError } from '../../components/collection-items';
import { ago, bytes, type Overview } from './admin-api';
import { AdminIncidents, AdminReports, AdminUsers } from './admin-lists';
import './admin.css';

export default function AdminView() {
  const me = useQuery({ queryKey: ['me'], queryFn: () => apiFetch<{ username: string; admin?: boolean }>('/v1/me') });
  if (me.isPending) return <p>Loading…</p>;
  if (me.isError) return <p role="alert">{describeError(me.error)}</p>;
  if (!me.data.admin) {
    return (
      <>
        <h1>Operators</h1>
        <p>This page is for the people who run this server. Your account is not one of theirs.</p>
      </>
    );
  }
  return (
    <div className="admin-page">
      <h1>Is everyone's data safe?</h1>
      <Dashboard />
      <AdminUsers />
      <AdminIncidents />
      <AdminReports />
    </div>
  );
}

function Dashboard() {
  const queryClient = useQueryClient();
  const overview = useQuery({
    queryKey: ['admin', 'overview'],
    queryFn: () => apiFetch<Overview>('/v1/admin/overview'),
    refetchInterval: 30_000,
  });
  const [message, setMessage] = useState<string | null>(null);

  async function start(what: 'backup' | 'drill') {
    setMessage(null);
    try {
      await apiFetch(`/v1/admin/${what}`, { method: 'POST' });
      setMessage(what === 'backup' ? 'A backup run has started.' : 'A restore drill has started.');
      await queryClient.invalidateQueries({ queryKey: ['admin'] });
    } catch (e) {
      setMessage(describeError(e));
    }
  }

  if (overview.isPending) return <p>Loading the overview…</p>;
  if (overview.isError) return <p role="alert">{describeError(overview.error)}</p>;
  const o = overview.data;
  const atRisk = o.status === 'at_risk';
  return (
    <section aria-labelledby="admin-status">
      <div className={atRisk ? 'admin-status admin-at-risk' : 'admin-status admin-ok'} role="status">
        <h2 id="admin-status">{atRisk ? 'At risk' : 'All data is safe'}</h2>
        {o.reasons.length > 0 && (
          <ul>
            {o.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        )}
      </div>
      <p>
        Revision {o.head.revision} · {count(o.users.total, 'user')} ({o.users.disabled} disabled) ·{' '}
        {count(o.openIncidents, 'open incident')} · {count(o.openReports, 'open report')}
      </p>
      <p>
        <button type="button" onClick={() => void start('backup')}>
          Start a backup now
        </button>{' '}
        <button type="button" onClick={() => void start('drill')}>
          Start a restore drill now
        </button>
      </p>
      <p aria-live="polite">{message}</p>
      <div className="admin-scroll">
        <table>
          <caption>Backup targets</caption>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
              <th scope="col">Last shipped revision</th>
              <th scope="col">Lag</th>
              <th scope="col">RPO</th>
              <th scope="col">Last verified drill</th>
              <th scope="col">Free space</th>
            </tr>
          </thead>
          <tbody>
            {o.targets.length === 0 && (
              <tr>
                <td colSpan={7}>No backup target is configured.</td>
              </tr>
            )}
            {o.targets.map((t) => (
              <tr key={t.number} className={t.status === 'at_risk' ? 'admin-row-at-risk' : undefined}>
                <th scope="row">{t.name}</th>
                <td>{t.status === 'at_risk' ? `At risk${t.problem ? `: ${t.problem}` : ''}` : 'OK'}</td>
                <td>{t.lastShippedRevision}</td>
                <td>
                  {t.lagRevisions} revisions, {ago(t.lagSeconds)}
                </td>
                <td>{ago(t.rpoSeconds)}</td>
                <td>
                  {t.lastVerifiedDrillAt
                    ? `${new Date(t.lastVerifiedDrillAt).toLocaleString()} (${ago(t.drillAgeSeconds)} ago)`
                    : 'never'}
                </td>
                <td>{bytes(t.freeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
