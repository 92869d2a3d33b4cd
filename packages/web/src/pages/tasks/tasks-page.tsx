import { lazy, Suspense } from 'react';

// ical.js (the VTODO text) loads with this page, not with the first one.
const TasksView = lazy(() => import('./tasks-view'));

export function TasksPage() {
  return (
    <Suspense fallback={<p>Loading tasks…</p>}>
      <TasksView />
    </Suspense>
  );
}
