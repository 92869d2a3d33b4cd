import type { Occurrence } from '../../components/calendar-ical';
import { addDays, sameDay } from './calendar-range';

interface Shown {
  occurrences: Occurrence[];
  onOpen: (occurrence: Occurrence) => void;
}

const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };

function onDay(occurrences: Occurrence[], day: Date): Occurrence[] {
  const next = addDays(day, 1);
  return occurrences.filter((o) => o.start < next && o.end > day);
}

function EventButton({ occurrence, onOpen }: { occurrence: Occurrence; onOpen: Shown['onOpen'] }) {
  const when = occurrence.allDay ? 'All day' : occurrence.start.toLocaleTimeString(undefined, time);
  return (
    <button type="button" className="calendar-event" onClick={() => onOpen(occurrence)}>
      <span className="calendar-event-time">{when}</span> {occurrence.summary}
      {occurrence.recurring && <span className="visually-hidden"> (repeats)</span>}
    </button>
  );
}

/** A month as whole weeks, Monday first; days outside the month are dimmed. */
export function MonthGrid({ from, to, month, occurrences, onOpen }: Shown & { from: Date; to: Date; month: number }) {
  const weeks: Date[][] = [];
  for (let day = from; day < to; day = addDays(day, 7)) weeks.push([0, 1, 2, 3, 4, 5, 6].map((i) => addDays(day, i)));
  const today = new Date();
  return (
    <table className="calendar-month">
      <thead>
        <tr>
          {weeks[0]?.map((day) => (
            <th key={day.getDay()} scope="col">
              {day.toLocaleDateString(undefined, { weekday: 'short' })}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {weeks.map((week) => (
          <tr key={week[0]?.toISOString()}>
            {week.map((day) => (
              <td
                key={day.toISOString()}
                className={day.getMonth() === month ? undefined : 'calendar-other-month'}
                aria-current={sameDay(day, today) ? 'date' : undefined}
              >
                <div className="calendar-day-number">
                  <span aria-hidden="true">{day.getDate()}</span>
                  <span className="visually-hidden">{day.toLocaleDateString(undefined, { dateStyle: 'full' })}</span>
                </div>
                <ul>
                  {onDay(occurrences, day).map((o) => (
                    <li key={o.key}>
                      <EventButton occurrence={o} onOpen={onOpen} />
                    </li>
                  ))}
                </ul>
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Seven days side by side (stacked on a phone), each with its events in time order. */
export function WeekColumns({ from, occurrences, onOpen }: Shown & { from: Date }) {
  const days = [0, 1, 2, 3, 4, 5, 6].map((i) => addDays(from, i));
  return (
    <div className="calendar-week">
      {days.map((day) => (
        <section key={day.toISOString()} aria-label={day.toLocaleDateString(undefined, { dateStyle: 'full' })}>
          <h3>{day.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })}</h3>
          <ul>
            {onDay(occurrences, day).map((o) => (
              <li key={o.key}>
                <EventButton occurrence={o} onOpen={onOpen} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

/** The coming events as a list grouped by day. */
export function AgendaList({ occurrences, onOpen }: Shown) {
  if (occurrences.length === 0) return <p>Nothing in these 30 days.</p>;
  const groups = new Map<string, Occurrence[]>();
  for (const o of occurrences) {
    const key = o.start.toDateString();
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  return (
    <div className="calendar-agenda">
      {[...groups].map(([key, list]) => (
        <section key={key} aria-label={list[0]?.start.toLocaleDateString(undefined, { dateStyle: 'full' })}>
          <h3>{list[0]?.start.toLocaleDateString(undefined, { dateStyle: 'full' })}</h3>
          <ul>
            {list.map((o) => (
              <li key={o.key}>
                <EventButton occurrence={o} onOpen={onOpen} />
                {o.location && <span className="calendar-location"> · {o.location}</span>}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
