import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { describeError, pushChange, type WireItem } from '../../components/collection-items';
import { originalUrl, thumbnailUrl } from '../../components/photos-upload';

export interface PhotoContent {
  filename?: string;
  caption?: string;
}

/** One photo: its server-made thumbnail, a link to the original, and its caption to edit. */
export function PhotoTile({ item }: { item: WireItem<PhotoContent> }) {
  const queryClient = useQueryClient();
  const id = useId();
  const [broken, setBroken] = useState(false);
  const [editing, setEditing] = useState(false);
  const [caption, setCaption] = useState(item.content.caption ?? '');
  // The revision the caption editor opened on (see write).
  const [base, setBase] = useState(item.revision);
  const [error, setError] = useState<string | null>(null);
  const name = item.content.filename || 'Photo';
  const label = item.content.caption || name;
  const taken = typeof item.meta?.takenAt === 'string' ? new Date(item.meta.takenAt).toLocaleDateString() : null;

  async function write(op: 'put' | 'delete') {
    setError(null);
    try {
      await pushChange({
        collectionId: item.collectionId,
        itemId: item.id,
        op,
        // An edit goes on top of what the editor showed; a delete on top of what the grid shows.
        baseRevision: op === 'put' ? base : item.revision,
        ...(op === 'put'
          ? { content: { ...item.content, caption: caption.trim() || undefined }, blob: item.blob ?? undefined }
          : {}),
      });
      setEditing(false);
    } catch (e) {
      setError(describeError(e));
    }
    await queryClient.invalidateQueries({ queryKey: ['photos', item.collectionId] });
  }

  function save(event: FormEvent) {
    event.preventDefault();
    void write('put');
  }

  if (!item.blob) return null;
  return (
    <li className="photo-tile">
      <figure>
        <a href={originalUrl(item.blob.sha256)} download={name} aria-label={`Download the original of ${label}`}>
          {broken ? (
            <span className="photo-missing">No preview</span>
          ) : (
            <img
              src={thumbnailUrl(item.blob.sha256)}
              alt={label}
              loading="lazy"
              decoding="async"
              width={256}
              height={256}
              onError={() => setBroken(true)}
            />
          )}
        </a>
        <figcaption>
          {item.content.caption ?? name}
          {taken && <span className="photo-date"> · {taken}</span>}
        </figcaption>
      </figure>
      {editing ? (
        <form onSubmit={save} className="photo-caption-form">
          <label htmlFor={`${id}-caption`}>Caption</label>
          <input id={`${id}-caption`} value={caption} onChange={(e) => setCaption(e.target.value)} maxLength={10000} />
          <button type="submit">Save caption</button>{' '}
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <p className="photo-actions">
          <button
            type="button"
            aria-label={`Edit the caption of ${label}`}
            onClick={() => {
              setCaption(item.content.caption ?? '');
              setBase(item.revision);
              setEditing(true);
            }}
          >
            Caption
          </button>{' '}
          <button
            type="button"
            aria-label={`Delete ${label}`}
            onClick={() => {
              if (window.confirm(`Delete ${label}?`)) void write('delete');
            }}
          >
            Delete
          </button>
        </p>
      )}
      {error && <p role="alert">{error}</p>}
    </li>
  );
}
