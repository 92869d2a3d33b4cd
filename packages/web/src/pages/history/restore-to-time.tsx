import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch } from '../../api/http';

interface Step {
  itemId: string;
  collectionId: string;
  action: 'restore' | 'remove';
  name?: string;
}

interface Plan {
  steps: Step[];
  collectionsRevived: string[];
  counts: { restore: number; remove: number; unchanged: number };
}

interface Applied extends Plan {
  firstRevision: number | null;
  lastRevision: number | null;
}

interface Collection {
  id: string;
  name: string;
  type: string;
}

type Point = { at: string } | { revision: number };

/** "2026-12-06T10:15:30" as the browser's local time, for the date and time field. */
function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(
    date.getMinutes(),
  )}:${pad(date.getSeconds())}`;
}

const QUICK = [
  { label: '10 minutes ago', ms: 10 * 60_000 },
  { label: '1 hour ago', ms: 3_600_000 },
  { label: 'Yesterday', ms: 86_400_000 },
  { label: '1 week ago', ms: 7 * 86_400_000 },
];

/**
 * Puts the whole account or one collection back as it was at a moment: a
 * preview naming every item that would change, a confirmation, and an undo.
 */
export function RestoreToTime() {
  const client = useQueryClient();
  const collections = useQuery({
    queryKey: ['collections'],
    queryFn: () => apiFetch<{ collections: Collection[] }>('/v1/collections'),
  });
  const [scope, setScope] = useState('');
  const [when, setWhen] = useState(() => localInputValue(new Date(Date.now() - 3_600_000)));
  const [plan, setPlan] = useState<{ body: Record<string, unknown>; plan: Plan } | null>(null);
  const [applied, setApplied] = useState<{ body: Record<string, unknown>; result: Applied } | null>(null);
  const [undone, setUndone] = useState(false);
  const names = new Map((collections.data?.collections ?? []).map((c) => [c.id, c.name]));

  const bodyFor = (point: Point) => ({ ...point, ...(scope ? { collectionIds: [scope] } : {}) });
  const preview = useMutation({
    mutationFn: async () => {
      const body = bodyFor({ at: new Date(when).toISOString() });
      return { body, plan: await apiFetch<Plan>('/v1/restore/preview', { method: 'POST', body }) };
    },
    onSuccess: (result) => {
      setPlan(result);
      setApplied(null);
      setUndone(false);
    },
  });
  const apply = useMutation({
    mutationFn: async (body: Record<string, unknown>) => ({
      body,
      result: await apiFetch<Applied>('/v1/restore', { method: 'POST', body }),
    }),
    onSuccess: (result) => {
      setApplied(result);
      setPlan(null);
      void client.invalidateQueries();
    },
  });
  const undo = useMutation({
    mutationFn: (input: { body: Record<string, unknown>; first: number }) => {
      const { at: _at, ...rest } = input.body;
      return apiFetch<Applied>('/v1/restore', { method: 'POST', body: { ...rest, revision: input.first - 1 } });
    },
    onSuccess: () => {
      setUndone(true);
      void client.invalidateQueries();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    preview.mutate();
  };
  const error = preview.error ?? apply.error ?? undo.error;
  return (
    <section aria-labelledby="restore-heading">
      <h2 id="restore-heading">Restore to a date and time</h2>
      <p>
        Put everything, or one collection, back as it was at a moment. You see what would change before anything does,
        and you can undo it afterwards.
      </p>
      <form className="stacked" onSubmit={submit}>
        <label htmlFor="restore-scope">What to restore</label>
        <select id="restore-scope" value={scope} onChange={(e) => setScope(e.target.value)}>
          <option value="">My whole account</option>
          {(collections.data?.collections ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <label htmlFor="restore-when">Date and time</label>
        <input
          id="restore-when"
          type="datetime-local"
          step={1}
          required
          value={when}
          onChange={(e) => setWhen(e.target.value)}
        />
        <div className="actions">
          {QUICK.map((quick) => (
            <button
              key={quick.label}
              type="button"
              onClick={() => setWhen(localInputValue(new Date(Date.now() - quick.ms)))}
            >
              {quick.label}
            </button>
          ))}
        </div>
        <button type="submit" disabled={preview.isPending}>
          Preview
        </button>
      </form>
      {error && <p role="alert">{error.message}</p>}
      {plan && (
        <section className="card" aria-label="Restore preview">
          <h3>What this restore would do</h3>
          {plan.plan.steps.length === 0 ? (
            <p role="status">Nothing would change: it is already as it was then.</p>
          ) : (
            <>
              <p>
                {plan.plan.counts.restore} item{plan.plan.counts.restore === 1 ? '' : 's'} would come back as they were,{' '}
                {plan.plan.counts.remove} made since would be removed, {plan.plan.counts.unchanged} stay as they are.
              </p>
              <ul>
                {plan.plan.steps.map((step) => (
                  <li key={step.itemId}>
                    {step.action === 'restore' ? 'Bring back as it was: ' : 'Remove (made later): '}
                    <strong>{step.name || step.itemId}</strong> in {names.get(step.collectionId) ?? step.collectionId}
                  </li>
                ))}
              </ul>
              <div className="actions">
                <button type="button" onClick={() => apply.mutate(plan.body)} disabled={apply.isPending}>
                  Restore these items
                </button>
                <button type="button" onClick={() => setPlan(null)}>
                  Cancel
                </button>
              </div>
            </>
          )}
        </section>
      )}
      {applied && (
        <div className="card" role="status">
          {applied.result.firstRevision === null ? (
            <p>Nothing needed to change.</p>
          ) : undone ? (
            <p>The restore is undone: everything is as it was before it.</p>
          ) : (
            <>
              <p>
                Restored: {applied.result.counts.restore} brought back, {applied.result.counts.remove} removed. Your
                devices receive the change on their next sync.
              </p>
              <button
                type="button"
                onClick={() => undo.mutate({ body: applied.body, first: applied.result.firstRevision ?? 0 })}
                disabled={undo.isPending}
              >
                Undo this restore
              </button>
            </>
          )}
        </div>
      )}
    </section>
  );
}
