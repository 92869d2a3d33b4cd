import { lazy, Suspense } from 'react';

const PhotosView = lazy(() => import('./photos-view'));

export function PhotosPage() {
  return (
    <Suspense fallback={<p>Loading photos…</p>}>
      <PhotosView />
    </Suspense>
  );
}
