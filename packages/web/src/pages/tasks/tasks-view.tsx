import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useMemo, useState } from 'react';
import { readTaskFields, type TaskFields, writeTask } from '../../components/calendar-ical';
import { describeError, keys, newId, pushChange, useAllItems, type WireItem } from '../../components/collection-items';
import { CollectionPicker } from '../../components/collection-picker';
import { TaskRow } from './task-row';
import './tasks.css';

export interface Task {
  item: WireItem<string>;
  fields: TaskFields;
}

/** Open tasks first, then by due date (none last), then by title. */
function order(a: Task, b: Task): number {
  if (a.fields.done !== b.fields.done) return a.fields.done ? 1 : -1;
  if (a.fields.due !== b.fields.due)
    return !a.fields.due ? 1 : !b.fields.due ? -1 : a.fields.due.localeCompare(b.fields.due);
  return a.fields.summary.localeCompare(b.fields.summary);
}

export default function TasksView() {
  const queryClient = useQueryClient();
  const id = useId();
  const [collectionId, setCollectionId] = useState<string>();
  const items = useAllItems<string>(collectionId);
  const [showDone, setShowDone] = useState(true);
  const [summary, setSummary] = useState('');
  const [due, setDue] = useState('');
  const [error, setError] = useState<string | null>(null);

  const tasks = useMemo(() => {
    const out: Task[] = [];
    for (const item of items.data ?? []) {
      const fields = typeof item.content === 'string' ? readTaskFields(item.content) : null;
      if (fields) out.push({ item, fields });
    }
    return out.sort(order);
  }, [items.data]);
  const shown = showDone ? tasks : tasks.filter((t) => !t.fields.done);
  const open = tasks.filter((t) => !t.fields.done).length;

  /** Writes one task; every control on the page goes through here so a failure is said in one place. */
  async function save(task: Task | null, fields: TaskFields, op: 'put' | 'delete' = 'put'): Promise<boolean> {
    if (!collectionId) return false;
    setError(null);
    const itemId = task?.item.id ?? newId();
    try {
      await pushChange({
        collectionId: task?.item.collectionId ?? collectionId,
        itemId,
        op,
        baseRevision: task?.item.revision ?? null,
        ...(op === 'put' ? { content: writeTask(task?.item.content ?? null, itemId, fields) } : {}),
      });
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
    }
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    if (!summary.trim()) return;
    if (await save(null, { summary: summary.trim(), description: '', due, done: false })) {
      setSummary('');
      setDue('');
    }
  }

  return (
    <div className="tasks-page">
      <h1>Tasks</h1>
      <CollectionPicker type="tasks" noun="List" selected={collectionId} onSelect={setCollectionId} />
      {items.isError && <p role="alert">{describeError(items.error)}</p>}
      {collectionId && (
        <>
          <form className="task-add" onSubmit={add}>
            <label htmlFor={`${id}-summary`}>New task</label>
            <input id={`${id}-summary`} value={summary} onChange={(e) => setSummary(e.target.value)} required />
            <label htmlFor={`${id}-due`}>Due</label>
            <input id={`${id}-due`} type="date" value={due} onChange={(e) => setDue(e.target.value)} />
            <button type="submit">Add task</button>
          </form>
          {error && <p role="alert">{error}</p>}
          <p className="task-summary">
            <span aria-live="polite">
              {open} open, {tasks.length - open} done.
            </span>{' '}
            <label>
              <input type="checkbox" checked={showDone} onChange={(e) => setShowDone(e.target.checked)} /> Show done
              tasks
            </label>
          </p>
          {items.isPending ? (
            <p>Loading…</p>
          ) : shown.length === 0 ? (
            <p>No tasks here.</p>
          ) : (
            <ul className="task-list">
              {shown.map((task) => (
                <TaskRow key={task.item.id} task={task} save={save} />
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}
