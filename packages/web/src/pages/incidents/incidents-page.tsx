import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch } from '../../api/http';
import { count } from '../../words/words';

interface Entry {
  seq: number;
  at: string;
  kind: string;
  scope?: 'user' | 'deployment';
  summary: string;
  details?: Record<string, unknown>;
  affected?: { items: number; collections: number };
  recovered?: Entry[];
}

/** What each kind of entry means for the person, in a heading. */
const HEADINGS: Record<string, string> = {
  rollback_detected: 'The server lost recent changes',
  database_replaced: 'The server’s database was replaced',
  restore: 'Data was restored',
  reseed: 'A device sent back what the server was missing',
  import: 'An import',
  import_undo: 'An import was undone',
  mass_change_blocked: 'A large deletion was stopped',
  mass_change_confirmed: 'A large deletion went ahead after you confirmed it',
  quota_warning: 'Your storage is nearly full',
  loss_accepted: 'The operator closed a loss that could not be recovered',
  backup_failed: 'A backup failed',
  journal_lag: 'Backups fell behind',
  user_report: 'You reported a problem',
};

const LOSSES = new Set(['rollback_detected', 'database_replaced']);

function heading(entry: Entry): string {
  return HEADINGS[entry.kind] ?? entry.kind.replace(/_/g, ' ');
}

function EntryView({ entry }: { entry: Entry }) {
  const lost = LOSSES.has(entry.kind) || (entry.kind === 'restore' && entry.scope === 'deployment');
  return (
    <li className="card">
      <h2>{heading(entry)}</h2>
      <p className="meta">
        {new Date(entry.at).toLocaleString()}
        {entry.scope === 'deployment' ? ' · affected everyone on this server' : ''}
      </p>
      <p>{entry.summary}</p>
      {entry.affected && (
        <p>
          Of yours: {count(entry.affected.items, 'item')} in {count(entry.affected.collections, 'collection')}.
        </p>
      )}
      {lost && (
        <>
          <h3>What came back</h3>
          {entry.recovered && entry.recovered.length > 0 ? (
            <ul>
              {entry.recovered.map((r) => (
                <li key={r.seq}>
                  {new Date(r.at).toLocaleString()}: {r.summary}
                </li>
              ))}
            </ul>
          ) : (
            <p>
              Nothing yet. What your devices still hold comes back when they next sync; if something is still missing,
              tell the operators below.
            </p>
          )}
        </>
      )}
    </li>
  );
}

function ReportForm() {
  const client = useQueryClient();
  const [text, setText] = useState('');
  const send = useMutation({
    mutationFn: (body: { text: string }) => apiFetch<{ seq: number }>('/v1/reports', { method: 'POST', body }),
    onSuccess: () => {
      setText('');
      return client.invalidateQueries({ queryKey: ['ledger'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send.mutate({ text });
  };
  return (
    <section aria-labelledby="report-heading" className="card">
      <h2 id="report-heading">Report something missing or wrong</h2>
      <form className="stacked" onSubmit={submit}>
        <label htmlFor="report-text">What is missing or wrong?</label>
        <textarea
          id="report-text"
          rows={4}
          maxLength={4000}
          required
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <div className="actions">
          <button type="submit" disabled={send.isPending}>
            Send to the operators
          </button>
        </div>
      </form>
      {send.isSuccess && <p role="status">Sent. The operators see your report, and it is on your record below.</p>}
      {send.isError && <p role="alert">{send.error.message}</p>}
    </section>
  );
}

/** "What happened": the person's ledger in words, newest first, and a way to report what is missing. */
export function IncidentsPage() {
  const ledger = useQuery({
    queryKey: ['ledger'],
    queryFn: () => apiFetch<{ entries: Entry[] }>('/v1/ledger?limit=1000'),
  });
  const entries = [...(ledger.data?.entries ?? [])].reverse();
  return (
    <>
      <h1>What happened</h1>
      <p>Everything that happened to your data on this server is recorded here, and can never be changed.</p>
      <ReportForm />
      {ledger.isError && <p role="alert">{ledger.error.message}</p>}
      {ledger.isSuccess && entries.length === 0 && <p role="status">Nothing has happened to your data.</p>}
      <ol className="entries" aria-label="Recorded events">
        {entries.map((entry) => (
          <EntryView key={entry.seq} entry={entry} />
        ))}
      </ol>
    </>
  );
}
