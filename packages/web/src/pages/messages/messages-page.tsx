import { lazy, Suspense } from 'react';

const MessagesView = lazy(() => import('./messages-view'));

export function MessagesPage() {
  return (
    <Suspense fallback={<p>Loading messages…</p>}>
      <MessagesView />
    </Suspense>
  );
}
