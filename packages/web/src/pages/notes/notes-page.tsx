import { lazy, Suspense } from 'react';

// Markdown and its sanitiser load with this page, not with the first one.
const NotesView = lazy(() => import('./notes-view'));

export function NotesPage() {
  return (
    <Suspense fallback={<p>Loading notes…</p>}>
      <NotesView />
    </Suspense>
  );
}
