import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, useEffect, useId, useRef, useState } from 'react';
import { describeError, fetchItemPage, newId, pushChange } from '../../components/collection-items';
import { CollectionPicker } from '../../components/collection-picker';
import { uploadBlob } from '../../components/photos-upload';
import { count } from '../../words/words';
import { PhotoGrid } from './photo-grid';
import type { PhotoContent } from './photo-tile';
import './photos.css';

/** Photos per page: one screen of thumbnails, so the first page shows before the rest of the album exists. */
const PAGE = 60;

export default function PhotosView() {
  const queryClient = useQueryClient();
  const inputId = useId();
  const [collectionId, setCollectionId] = useState<string>();
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const photos = useInfiniteQuery({
    queryKey: ['photos', collectionId ?? ''],
    enabled: Boolean(collectionId),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => fetchItemPage<PhotoContent>(collectionId as string, pageParam, PAGE),
    getNextPageParam: (last) => last.next,
  });
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = photos;

  // The next page loads as the end of the grid scrolls into view; the button does the same by keyboard.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !hasNextPage) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  async function add(event: ChangeEvent<HTMLInputElement>) {
    const files = [...(event.target.files ?? [])];
    event.target.value = '';
    if (!collectionId || files.length === 0) return;
    setError(null);
    try {
      for (const [index, file] of files.entries()) {
        setStatus(`Uploading ${index + 1} of ${files.length}: ${file.name}`);
        const blob = await uploadBlob(file);
        await pushChange({
          collectionId,
          itemId: newId(),
          op: 'put',
          baseRevision: null,
          content: { filename: file.name.slice(0, 255) },
          blob,
        });
      }
      setStatus(`Added ${files.length} photo${files.length === 1 ? '' : 's'}.`);
    } catch (e) {
      setStatus(null);
      setError(describeError(e));
    }
    await queryClient.invalidateQueries({ queryKey: ['photos', collectionId] });
  }

  const items = photos.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="photos-page">
      <h1>Photos</h1>
      <CollectionPicker type="photos" noun="Album" selected={collectionId} onSelect={setCollectionId} />
      {collectionId && (
        <>
          <p>
            <label htmlFor={inputId}>Add photos</label>{' '}
            <input id={inputId} type="file" accept="image/*" multiple onChange={add} />
          </p>
          <p aria-live="polite">{status}</p>
          {error && <p role="alert">{error}</p>}
          {photos.isError && <p role="alert">{describeError(photos.error)}</p>}
          {photos.isPending ? (
            <p>Loading…</p>
          ) : items.length === 0 ? (
            <p>No photos in this album yet.</p>
          ) : (
            <>
              <p className="meta">
                {count(items.length, 'photo')}
                {hasNextPage ? ' so far, more as you scroll down' : ' in this album'}
              </p>
              <PhotoGrid items={items} />
            </>
          )}
          <div ref={sentinel} />
          {hasNextPage && (
            <button type="button" disabled={isFetchingNextPage} onClick={() => void fetchNextPage()}>
              {isFetchingNextPage ? 'Loading more photos…' : 'Load more photos'}
            </button>
          )}
        </>
      )}
    </div>
  );
}
