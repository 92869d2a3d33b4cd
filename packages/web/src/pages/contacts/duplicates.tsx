import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { apiFetch } from '../../api/http';
import { pushChanges } from '../../api/push';
import type { Item } from './contacts-api';
import { type ContactFields, readContactFields, updateContactText } from './vcard';

interface Summary {
  itemId: string;
  collectionId: string;
  fn: string;
  nicknames: string[];
  tels: string[];
  emails: string[];
}

interface Group {
  confidence: 'high' | 'possible';
  reasons: string[];
  contacts: Summary[];
}

const unique = (values: string[]) => [...new Set(values.filter(Boolean))];

/** The merged card: the first contact's card, with every name, number and address of the others added. */
function mergedFields(cards: ContactFields[]): ContactFields {
  const [first, ...rest] = cards as [ContactFields, ...ContactFields[]];
  return {
    name: first.name || rest.find((c) => c.name)?.name || '',
    nicknames: unique([
      ...cards.flatMap((c) => c.nicknames),
      ...rest.map((c) => c.name).filter((n) => n !== first.name),
    ]),
    phones: unique(cards.flatMap((c) => c.phones)),
    emails: unique(cards.flatMap((c) => c.emails)),
    organization: first.organization || rest.find((c) => c.organization)?.organization || '',
    note: unique(cards.map((c) => c.note)).join('\n\n'),
  };
}

/** Suggestions from `GET /v1/contacts/duplicates`; nothing is merged until the person confirms the preview. */
export function Duplicates() {
  const groups = useQuery({
    queryKey: ['contacts', 'duplicates'],
    queryFn: () => apiFetch<{ groups: Group[] }>('/v1/contacts/duplicates'),
  });
  return (
    <>
      <p>
        <Link href="/">← All contacts</Link>
      </p>
      <h1>Possible duplicates</h1>
      {groups.isPending && <p>Looking for contacts that may be the same person…</p>}
      {groups.isError && <p role="alert">{groups.error.message}</p>}
      {groups.data?.groups.length === 0 && <p role="status">No duplicates found.</p>}
      {groups.data?.groups.map((group) => (
        <DuplicateGroup key={group.contacts.map((c) => c.itemId).join(',')} group={group} />
      ))}
    </>
  );
}

function DuplicateGroup({ group }: { group: Group }) {
  const client = useQueryClient();
  const [preview, setPreview] = useState<{ heads: Item[]; merged: ContactFields } | null>(null);
  const [done, setDone] = useState(false);
  const load = useMutation({
    mutationFn: async () => {
      const heads = await Promise.all(
        group.contacts.map((c) => apiFetch<Item>(`/v1/items/${encodeURIComponent(c.itemId)}`)),
      );
      return { heads, merged: mergedFields(heads.map((h) => readContactFields(String(h.content)))) };
    },
    onSuccess: setPreview,
  });
  const merge = useMutation({
    mutationFn: async (input: { heads: Item[]; merged: ContactFields }) => {
      const [keep, ...others] = input.heads as [Item, ...Item[]];
      // One push: the kept card gains the others' details and the others go to the trash, together or not at all.
      await pushChanges([
        {
          collectionId: keep.collectionId,
          itemId: keep.id,
          op: 'put',
          baseRevision: keep.revision,
          content: updateContactText(String(keep.content), input.merged),
        },
        ...others.map((other) => ({
          collectionId: other.collectionId,
          itemId: other.id,
          op: 'delete' as const,
          baseRevision: other.revision,
        })),
      ]);
    },
    onSuccess: () => {
      setDone(true);
      setPreview(null);
      return client.invalidateQueries({ queryKey: ['contacts'] });
    },
  });
  const names = group.contacts.map((c) => c.fn || '(no name)').join(' and ');
  return (
    <section className="card" aria-label={`Possible duplicates: ${names}`}>
      <h2>{names}</h2>
      <p>
        {group.confidence === 'high' ? 'Very likely the same person: ' : 'Possibly the same person: '}
        {group.reasons.join('; ')}
      </p>
      {done && <p role="status">Merged. The other cards are in the trash, from where they can be restored.</p>}
      {(load.error ?? merge.error) && <p role="alert">{(load.error ?? merge.error)?.message}</p>}
      {!preview && !done && (
        <button type="button" onClick={() => load.mutate()} disabled={load.isPending}>
          Merge…
        </button>
      )}
      {preview && (
        <div className="preview">
          <h3>The merged contact</h3>
          <dl className="fields">
            <dt>Name</dt>
            <dd>{preview.merged.name}</dd>
            <dt>Nicknames</dt>
            <dd>{preview.merged.nicknames.join(', ') || '—'}</dd>
            <dt>Phones</dt>
            <dd>{preview.merged.phones.join(', ') || '—'}</dd>
            <dt>E-mail</dt>
            <dd>{preview.merged.emails.join(', ') || '—'}</dd>
          </dl>
          <p>
            {preview.heads.length - 1} other card{preview.heads.length > 2 ? 's' : ''} will go to the trash.
          </p>
          <div className="actions">
            <button type="button" onClick={() => merge.mutate(preview)} disabled={merge.isPending}>
              Confirm merge
            </button>
            <button type="button" onClick={() => setPreview(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
