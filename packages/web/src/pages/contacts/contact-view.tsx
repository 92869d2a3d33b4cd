import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { apiFetch } from '../../api/http';
import { pushChanges } from '../../api/push';
import { ContactFieldList } from './contact-fields';
import { type ContactJson, contactKeys, type Item } from './contacts-api';

/**
 * One contact: every field, with edit, delete and (after a delete) undo. It
 * follows the change feed like every query, so a change from a phone shows
 * here without a reload.
 */
export function ContactView({ id }: { id: string }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const [justDeleted, setJustDeleted] = useState(false);
  const item = useQuery({
    queryKey: contactKeys.item(id),
    queryFn: () => apiFetch<Item>(`/v1/items/${encodeURIComponent(id)}?includeDeleted=true`),
  });
  const live = item.data !== undefined && !item.data.deleted;
  const json = useQuery({
    queryKey: [...contactKeys.json(id), item.data?.revision],
    queryFn: () => apiFetch<ContactJson>(`/v1/items/${encodeURIComponent(id)}/json`),
    enabled: live,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['item', id] });
  const remove = useMutation({
    mutationFn: (head: Item) =>
      pushChanges([{ collectionId: head.collectionId, itemId: id, op: 'delete', baseRevision: head.revision }]),
    onSuccess: () => {
      setJustDeleted(true);
      void client.invalidateQueries({ queryKey: ['contacts'] });
      return refresh();
    },
  });
  const undo = useMutation({
    mutationFn: () =>
      apiFetch<{ revision: number }>(`/v1/items/${encodeURIComponent(id)}/undelete`, { method: 'POST' }),
    onSuccess: () => {
      setJustDeleted(false);
      void client.invalidateQueries({ queryKey: ['contacts'] });
      return refresh();
    },
  });

  if (item.isPending) return <p>Loading…</p>;
  if (item.isError) {
    return (
      <>
        <h1>Contact not found</h1>
        <p role="alert">{item.error.message}</p>
        <Link href="/">All contacts</Link>
      </>
    );
  }
  const head = item.data;
  if (head.deleted) {
    return (
      <>
        <h1>Deleted contact</h1>
        <p role="status">{justDeleted ? 'The contact is deleted.' : 'This contact is in the trash.'}</p>
        {undo.isError && <p role="alert">{undo.error.message}</p>}
        <div className="actions">
          <button type="button" onClick={() => undo.mutate()} disabled={undo.isPending}>
            {justDeleted ? 'Undo' : 'Restore this contact'}
          </button>
          <Link href={`~/history/items/${encodeURIComponent(id)}`}>History</Link>
          <Link href="/">All contacts</Link>
        </div>
      </>
    );
  }
  const properties = json.data?.data[1] ?? [];
  const name = properties.find(([n]) => n === 'fn')?.[3];
  return (
    <article aria-labelledby="contact-heading">
      <p>
        <Link href="/">← All contacts</Link>
      </p>
      <h1 id="contact-heading">{typeof name === 'string' && name ? name : 'Contact'}</h1>
      {json.isError && <p role="alert">{json.error.message}</p>}
      <ContactFieldList properties={properties} />
      <p className="meta">Last changed {new Date(head.updatedAt).toLocaleString()}</p>
      {remove.isError && <p role="alert">{remove.error.message}</p>}
      <div className="actions">
        <button type="button" onClick={() => navigate(`/${encodeURIComponent(id)}/edit`)}>
          Edit
        </button>
        <button type="button" onClick={() => remove.mutate(head)} disabled={remove.isPending}>
          Delete
        </button>
        <Link href={`~/history/items/${encodeURIComponent(id)}`}>History</Link>
      </div>
    </article>
  );
}
