import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import { describeError, keys, newId, pushChange, useAllItems, type WireItem } from '../../components/collection-items';
import { CollectionPicker } from '../../components/collection-picker';
import { renderMarkdown } from './note-markdown';
import './notes.css';

interface NoteContent {
  title: string;
  body: string;
}

type Note = WireItem<NoteContent>;

export default function NotesView() {
  const [collectionId, setCollectionId] = useState<string>();
  const notes = useAllItems<NoteContent>(collectionId);
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<'new' | 'edit' | null>(null);
  const sorted = useMemo(
    () => [...(notes.data ?? [])].sort((a, b) => titleOf(a).localeCompare(titleOf(b))),
    [notes.data],
  );
  const current = sorted.find((n) => n.id === selected) ?? null;

  return (
    <div className="notes-page">
      <h1>Notes</h1>
      <CollectionPicker type="notes" noun="Notebook" selected={collectionId} onSelect={setCollectionId} />
      {notes.isError && <p role="alert">{describeError(notes.error)}</p>}
      {collectionId && (
        <div className="notes-layout">
          <section aria-label="All notes" className="notes-list">
            <button type="button" onClick={() => setEditing('new')}>
              New note
            </button>
            {notes.isPending ? (
              <p>Loading…</p>
            ) : sorted.length === 0 ? (
              <p>No notes yet.</p>
            ) : (
              <ul>
                {sorted.map((note) => (
                  <li key={note.id}>
                    <button
                      type="button"
                      className="link-button"
                      aria-current={note.id === selected ? 'true' : undefined}
                      onClick={() => {
                        setSelected(note.id);
                        setEditing(null);
                      }}
                    >
                      {titleOf(note)}
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-label="Note" className="note-pane">
            {editing ? (
              <NoteEditor
                key={editing === 'new' ? 'new' : current?.id}
                collectionId={collectionId}
                note={editing === 'new' ? null : current}
                onDone={(id) => {
                  setEditing(null);
                  if (id) setSelected(id);
                }}
              />
            ) : current ? (
              <NoteViewer note={current} onEdit={() => setEditing('edit')} onDeleted={() => setSelected(null)} />
            ) : (
              <p>Choose a note, or make a new one.</p>
            )}
          </section>
        </div>
      )}
    </div>
  );
}

function titleOf(note: Note): string {
  return note.content.title.trim() || 'Untitled note';
}

function NoteViewer({ note, onEdit, onDeleted }: { note: Note; onEdit: () => void; onDeleted: () => void }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const html = useMemo(() => renderMarkdown(note.content.body), [note.content.body]);

  async function remove() {
    if (!window.confirm(`Delete the note “${titleOf(note)}”? It stays in the trash and its history.`)) return;
    setError(null);
    try {
      await pushChange({ collectionId: note.collectionId, itemId: note.id, op: 'delete', baseRevision: note.revision });
      onDeleted();
    } catch (e) {
      setError(describeError(e));
    }
    await queryClient.invalidateQueries({ queryKey: keys.items(note.collectionId) });
  }

  return (
    <article>
      <h2>{titleOf(note)}</h2>
      <p className="note-actions">
        <button type="button" onClick={onEdit}>
          Edit
        </button>{' '}
        <button type="button" onClick={remove}>
          Delete
        </button>
      </p>
      {error && <p role="alert">{error}</p>}
      {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the HTML is sanitised by DOMPurify */}
      <div className="note-body" dangerouslySetInnerHTML={{ __html: html }} />
    </article>
  );
}

function NoteEditor({
  collectionId,
  note,
  onDone,
}: {
  collectionId: string;
  note: Note | null;
  onDone: (id: string | null) => void;
}) {
  const queryClient = useQueryClient();
  const titleId = useId();
  const bodyId = useId();
  // The revision the editor opened: a change made elsewhere since is a conflict, never silently overwritten.
  const [base] = useState(note?.revision ?? null);
  const [title, setTitle] = useState(note?.content.title ?? '');
  const [body, setBody] = useState(note?.content.body ?? '');
  const [preview, setPreview] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const titleRef = useRef<HTMLInputElement>(null);
  useEffect(() => titleRef.current?.focus(), []);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const itemId = note?.id ?? newId();
    try {
      await pushChange({
        collectionId: note?.collectionId ?? collectionId,
        itemId,
        op: 'put',
        baseRevision: base,
        content: { title: title.trim(), body },
      });
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
      onDone(itemId);
    } catch (e) {
      setError(describeError(e));
      await queryClient.invalidateQueries({ queryKey: keys.items(collectionId) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={save} className="note-editor">
      <h2>{note ? 'Edit note' : 'New note'}</h2>
      <label htmlFor={titleId}>Title</label>
      <input id={titleId} ref={titleRef} value={title} onChange={(e) => setTitle(e.target.value)} maxLength={1000} />
      <label htmlFor={bodyId}>Text (Markdown)</label>
      <textarea id={bodyId} value={body} onChange={(e) => setBody(e.target.value)} rows={14} />
      <p>
        <button type="submit" disabled={busy}>
          Save note
        </button>{' '}
        <button type="button" onClick={() => setPreview((p) => !p)} aria-pressed={preview}>
          Preview
        </button>{' '}
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </p>
      {error && <p role="alert">{error}</p>}
      {preview && (
        <section aria-label="Preview">
          {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the HTML is sanitised by DOMPurify */}
          <div className="note-body" dangerouslySetInnerHTML={{ __html: renderMarkdown(body) }} />
        </section>
      )}
    </form>
  );
}
