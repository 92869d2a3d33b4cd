import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import {
  type EventFields,
  fromInputValue,
  type Repeat,
  readEventFields,
  toInputValue,
  writeEvent,
} from '../../components/calendar-ical';
import { describeError, keys, newId, pushChange, type WireItem } from '../../components/collection-items';

interface Props {
  collectionId: string;
  /** The event to edit, or null for a new one. */
  item: WireItem<string> | null;
  /** Where a new event starts. */
  day: Date;
  onDone: () => void;
}

function defaults(day: Date): EventFields {
  const start = new Date(day.getFullYear(), day.getMonth(), day.getDate(), 9, 0);
  return {
    summary: '',
    location: '',
    description: '',
    allDay: false,
    start: toInputValue(start, false),
    end: toInputValue(new Date(start.getTime() + 3_600_000), false),
    repeat: 'none',
  };
}

/** Creates, edits or deletes one event; an edit of a repeating event changes the whole series. */
export function EventForm({ collectionId, item, day, onDone }: Props) {
  const queryClient = useQueryClient();
  const id = useId();
  const [fields, setFields] = useState<EventFields>(() => (item && readEventFields(item.content)) || defaults(day));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const set = <K extends keyof EventFields>(key: K, value: EventFields[K]) =>
    setFields((f) => ({ ...f, [key]: value }));

  function setAllDay(allDay: boolean) {
    setFields((f) => ({
      ...f,
      allDay,
      start: toInputValue(fromInputValue(f.start), allDay),
      end: toInputValue(fromInputValue(f.end), allDay),
    }));
  }

  async function write(op: 'put' | 'delete') {
    setBusy(true);
    setError(null);
    const itemId = item?.id ?? newId();
    try {
      await pushChange({
        collectionId: item?.collectionId ?? collectionId,
        itemId,
        op,
        baseRevision: item?.revision ?? null,
        ...(op === 'put' ? { content: writeEvent(item?.content ?? null, itemId, fields) } : {}),
      });
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
      onDone();
    } catch (e) {
      setError(describeError(e));
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
    } finally {
      setBusy(false);
    }
  }

  function save(event: FormEvent) {
    event.preventDefault();
    void write('put');
  }

  function remove() {
    if (
      window.confirm(
        `Delete “${fields.summary || 'this event'}”${fields.repeat !== 'none' ? ' and every repeat' : ''}?`,
      )
    ) {
      void write('delete');
    }
  }

  const type = fields.allDay ? 'date' : 'datetime-local';
  return (
    <form className="event-form" onSubmit={save} aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>{item ? 'Edit event' : 'New event'}</h2>
      <label htmlFor={`${id}-summary`}>Title</label>
      <input
        id={`${id}-summary`}
        ref={first}
        required
        value={fields.summary}
        onChange={(e) => set('summary', e.target.value)}
      />
      <label className="check">
        <input type="checkbox" checked={fields.allDay} onChange={(e) => setAllDay(e.target.checked)} /> All day
      </label>
      <label htmlFor={`${id}-start`}>Starts</label>
      <input
        id={`${id}-start`}
        type={type}
        required
        value={fields.start}
        onChange={(e) => set('start', e.target.value)}
      />
      <label htmlFor={`${id}-end`}>Ends</label>
      <input id={`${id}-end`} type={type} value={fields.end} onChange={(e) => set('end', e.target.value)} />
      <label htmlFor={`${id}-repeat`}>Repeats</label>
      <select id={`${id}-repeat`} value={fields.repeat} onChange={(e) => set('repeat', e.target.value as Repeat)}>
        <option value="none">Never</option>
        <option value="DAILY">Every day</option>
        <option value="WEEKLY">Every week</option>
        <option value="MONTHLY">Every month</option>
        <option value="YEARLY">Every year</option>
      </select>
      {item && fields.repeat !== 'none' && <p className="hint">Changes apply to every repeat of this event.</p>}
      <label htmlFor={`${id}-location`}>Location</label>
      <input id={`${id}-location`} value={fields.location} onChange={(e) => set('location', e.target.value)} />
      <label htmlFor={`${id}-description`}>Description</label>
      <textarea
        id={`${id}-description`}
        rows={3}
        value={fields.description}
        onChange={(e) => set('description', e.target.value)}
      />
      {error && <p role="alert">{error}</p>}
      <p>
        <button type="submit" disabled={busy}>
          Save event
        </button>{' '}
        {item && (
          <button type="button" onClick={remove} disabled={busy}>
            Delete event
          </button>
        )}{' '}
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </p>
    </form>
  );
}
