import { lazy, Suspense } from 'react';

const AdminView = lazy(() => import('./admin-view'));

export function AdminPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <AdminView />
    </Suspense>
  );
}
