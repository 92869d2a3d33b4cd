import { useMemo, useRef, useState } from 'react';
import { expandEvent, type Occurrence } from '../../components/calendar-ical';
import { describeError, useAllItems, type WireItem } from '../../components/collection-items';
import { CollectionPicker } from '../../components/collection-picker';
import { AgendaList, MonthGrid, WeekColumns } from './calendar-grid';
import { type CalendarMode, rangeOf, step, titleOf } from './calendar-range';
import { EventForm } from './event-form';
import './calendar.css';

const MODES: { mode: CalendarMode; label: string }[] = [
  { mode: 'month', label: 'Month' },
  { mode: 'week', label: 'Week' },
  { mode: 'agenda', label: 'Agenda' },
];

/** What the form is open for: an existing event, or a new one starting on a day. */
type Editing = { item: WireItem<string> } | { day: Date } | null;

export default function CalendarView() {
  const [collectionId, setCollectionId] = useState<string>();
  const [mode, setMode] = useState<CalendarMode>('month');
  const [anchor, setAnchor] = useState(() => new Date());
  const [editing, setEditing] = useState<Editing>(null);
  const items = useAllItems<string>(collectionId);
  const newEvent = useRef<HTMLButtonElement>(null);
  const { from, to } = useMemo(() => rangeOf(mode, anchor), [mode, anchor]);

  const occurrences = useMemo(() => {
    const out: Occurrence[] = [];
    for (const item of items.data ?? []) {
      if (typeof item.content === 'string') out.push(...expandEvent(item.id, item.content, from, to));
    }
    return out.sort((a, b) => a.start.getTime() - b.start.getTime() || a.summary.localeCompare(b.summary));
  }, [items.data, from, to]);

  const open = (occurrence: Occurrence) => {
    const item = items.data?.find((i) => i.id === occurrence.itemId);
    if (item) setEditing({ item });
  };

  return (
    <div className="calendar-page">
      <h1>Calendar</h1>
      <CollectionPicker type="calendar" noun="Calendar" selected={collectionId} onSelect={setCollectionId} />
      {items.isError && <p role="alert">{describeError(items.error)}</p>}
      {collectionId && editing && (
        <EventForm
          key={'item' in editing ? editing.item.id : editing.day.toISOString()}
          collectionId={collectionId}
          item={'item' in editing ? editing.item : null}
          day={'day' in editing ? editing.day : anchor}
          onDone={() => {
            setEditing(null);
            // The form is gone: keyboard focus goes back to the calendar, not to the top of the page.
            newEvent.current?.focus();
          }}
        />
      )}
      {collectionId && (
        <>
          <div className="calendar-toolbar">
            <fieldset className="calendar-modes">
              <legend className="visually-hidden">View</legend>
              {MODES.map((m) => (
                <button key={m.mode} type="button" aria-pressed={mode === m.mode} onClick={() => setMode(m.mode)}>
                  {m.label}
                </button>
              ))}
            </fieldset>
            <div>
              <button type="button" onClick={() => setAnchor((a) => step(mode, a, -1))}>
                Previous
              </button>{' '}
              <button type="button" onClick={() => setAnchor(new Date())}>
                Today
              </button>{' '}
              <button type="button" onClick={() => setAnchor((a) => step(mode, a, 1))}>
                Next
              </button>
            </div>
            <button
              type="button"
              ref={newEvent}
              onClick={() => setEditing({ day: mode === 'month' ? new Date() : from })}
            >
              New event
            </button>
          </div>
          <h2 aria-live="polite">{titleOf(mode, anchor)}</h2>
          {items.isPending ? (
            <p>Loading…</p>
          ) : mode === 'month' ? (
            <MonthGrid from={from} to={to} month={anchor.getMonth()} occurrences={occurrences} onOpen={open} />
          ) : mode === 'week' ? (
            <WeekColumns from={from} occurrences={occurrences} onOpen={open} />
          ) : (
            <AgendaList occurrences={occurrences} onOpen={open} />
          )}
        </>
      )}
    </div>
  );
}
