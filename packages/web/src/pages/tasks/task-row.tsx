import { type FormEvent, useId, useState } from 'react';
import type { TaskFields } from '../../components/calendar-ical';
import type { Task } from './tasks-view';

interface Props {
  task: Task;
  save: (task: Task, fields: TaskFields, op?: 'put' | 'delete') => Promise<boolean>;
}

function today(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

function dueText(due: string): string {
  const [y = 1970, m = 1, d = 1] = due.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}

/** One task: a done box, its due date, and an inline editor. */
export function TaskRow({ task, save }: Props) {
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [fields, setFields] = useState(task.fields);
  // The task as the editor opened it: saving goes on top of that revision, so a change made elsewhere is a conflict.
  const [opened, setOpened] = useState(task);
  // The box shows the click at once; the list's next read (after the write) replaces it.
  const [ticked, setTicked] = useState<boolean | null>(null);
  const { summary, due, done, description } = task.fields;
  const overdue = !done && due !== '' && due < today();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await save(opened, fields)) setEditing(false);
  }

  if (editing) {
    return (
      <li className="task-row">
        <form className="task-edit" onSubmit={submit} aria-label={`Edit ${summary}`}>
          <label htmlFor={`${id}-summary`}>Title</label>
          <input
            id={`${id}-summary`}
            required
            value={fields.summary}
            onChange={(e) => setFields({ ...fields, summary: e.target.value })}
          />
          <label htmlFor={`${id}-due`}>Due</label>
          <input
            id={`${id}-due`}
            type="date"
            value={fields.due}
            onChange={(e) => setFields({ ...fields, due: e.target.value })}
          />
          <label htmlFor={`${id}-notes`}>Notes</label>
          <textarea
            id={`${id}-notes`}
            rows={2}
            value={fields.description}
            onChange={(e) => setFields({ ...fields, description: e.target.value })}
          />
          <p>
            <button type="submit">Save task</button>{' '}
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </p>
        </form>
      </li>
    );
  }

  return (
    <li className={done ? 'task-row task-done' : 'task-row'}>
      <input
        id={`${id}-done`}
        type="checkbox"
        checked={ticked ?? done}
        onChange={async (e) => {
          setTicked(e.target.checked);
          await save(task, { ...task.fields, done: e.target.checked });
          setTicked(null);
        }}
      />
      <label htmlFor={`${id}-done`} className="task-title">
        {summary || 'Untitled task'}
      </label>
      {due && (
        <span className={overdue ? 'task-due task-overdue' : 'task-due'}>
          {overdue ? `Overdue: ${dueText(due)}` : `Due ${dueText(due)}`}
        </span>
      )}
      {description && <span className="task-notes">{description}</span>}
      <span className="task-actions">
        <button
          type="button"
          aria-label={`Edit ${summary}`}
          onClick={() => {
            setFields(task.fields);
            setOpened(task);
            setEditing(true);
          }}
        >
          Edit
        </button>{' '}
        <button
          type="button"
          aria-label={`Delete ${summary}`}
          onClick={() => {
            if (window.confirm(`Delete the task “${summary}”?`)) void save(task, task.fields, 'delete');
          }}
        >
          Delete
        </button>
      </span>
    </li>
  );
}
