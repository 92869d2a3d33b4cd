import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useLocation } from 'wouter';
import { apiFetch } from '../../api/http';
import { newItemId, pushChanges } from '../../api/push';
import { ContactForm } from './contact-form';
import { contactKeys, contactsCollection, type Item } from './contacts-api';
import { type ContactFields, newContactText, readContactFields, updateContactText } from './vcard';

const EMPTY: ContactFields = { name: '', nicknames: [], phones: [], emails: [], organization: '', note: '' };

/** A new contact: a vCard 4.0 pushed into the person's contacts collection. */
export function NewContact() {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const create = useMutation({
    mutationFn: async (fields: ContactFields) => {
      const collectionId = await contactsCollection();
      const id = newItemId();
      await pushChanges([
        { collectionId, itemId: id, op: 'put', baseRevision: null, content: newContactText(id, fields) },
      ]);
      return id;
    },
    onSuccess: (id) => {
      void client.invalidateQueries({ queryKey: ['contacts'] });
      navigate(`/${encodeURIComponent(id)}`);
    },
  });
  return (
    <>
      <h1>New contact</h1>
      <ContactForm
        initial={EMPTY}
        busy={create.isPending}
        error={create.isError ? create.error.message : null}
        submitLabel="Save contact"
        onSubmit={(fields) => create.mutate(fields)}
        onCancel={() => navigate('/')}
      />
    </>
  );
}

/** Edits a contact against the revision shown: a change made elsewhere meanwhile is a conflict, never lost. */
export function EditContact({ id }: { id: string }) {
  const item = useQuery({
    queryKey: contactKeys.item(id),
    queryFn: () => apiFetch<Item>(`/v1/items/${encodeURIComponent(id)}?includeDeleted=true`),
  });
  if (item.isPending) return <p>Loading…</p>;
  if (item.isError) return <p role="alert">{item.error.message}</p>;
  if (item.data.deleted) return <p role="status">This contact is deleted.</p>;
  return <EditForm id={id} head={item.data} />;
}

function EditForm({ id, head }: { id: string; head: Item }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  // The revision the form started from: saving is against it, so a phone's change meanwhile is a conflict.
  const [base, setBase] = useState(head);
  const save = useMutation({
    mutationFn: (fields: ContactFields) =>
      pushChanges([
        {
          collectionId: base.collectionId,
          itemId: id,
          op: 'put',
          baseRevision: base.revision,
          content: updateContactText(String(base.content), fields),
        },
      ]),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['contacts'] });
      void client.invalidateQueries({ queryKey: ['item', id] });
      navigate(`/${encodeURIComponent(id)}`);
    },
  });
  const changedElsewhere = head.revision !== base.revision;
  return (
    <>
      <h1>Edit contact</h1>
      {changedElsewhere && (
        <div className="notice" role="status">
          <p>This contact was changed somewhere else while you were editing.</p>
          <button type="button" onClick={() => setBase(head)}>
            Start again from the newer version
          </button>
        </div>
      )}
      <ContactForm
        key={base.revision}
        initial={readContactFields(String(base.content))}
        busy={save.isPending}
        error={save.isError ? save.error.message : null}
        submitLabel="Save changes"
        onSubmit={(fields) => save.mutate(fields)}
        onCancel={() => navigate(`/${encodeURIComponent(id)}`)}
      />
    </>
  );
}
