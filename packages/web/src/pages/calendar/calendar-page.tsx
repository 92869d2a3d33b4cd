import { lazy, Suspense } from 'react';

// ical.js (recurrence expansion) loads with this page, not with the first one.
const CalendarView = lazy(() => import('./calendar-view'));

export function CalendarPage() {
  return (
    <Suspense fallback={<p>Loading the calendar…</p>}>
      <CalendarView />
    </Suspense>
  );
}
