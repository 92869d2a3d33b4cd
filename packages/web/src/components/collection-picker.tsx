import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import {
  type Collection,
  type CollectionType,
  createCollection,
  describeError,
  keys,
  useCollections,
} from './collection-items';
import './collection-picker.css';

interface Props {
  type: CollectionType;
  /** What one collection of this type is called on this page ("Calendar", "List", "Notebook"). */
  noun: string;
  selected: string | undefined;
  onSelect: (id: string) => void;
}

/**
 * Chooses which of the person's collections of one type the page shows, and makes a new one. Selects the first
 * collection when none is chosen yet, so a person with one calendar never has to pick.
 */
export function CollectionPicker({ type, noun, selected, onSelect }: Props) {
  const collections = useCollections(type);
  const queryClient = useQueryClient();
  const selectId = useId();
  const nameId = useId();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const list: Collection[] = collections.data ?? [];
  const first = list[0]?.id;

  useEffect(() => {
    if (first && (!selected || !list.some((c) => c.id === selected))) onSelect(first);
  }, [first, selected, list, onSelect]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const made = await createCollection(type, name.trim() || noun);
      setName('');
      await queryClient.invalidateQueries({ queryKey: keys.collections });
      onSelect(made.id);
    } catch (e) {
      setError(describeError(e));
    }
  }

  if (collections.isPending) return <p>Loading…</p>;
  if (collections.isError) return <p role="alert">{describeError(collections.error)}</p>;
  return (
    <div className="collection-picker">
      {list.length > 0 && (
        <p>
          <label htmlFor={selectId}>{noun}</label>{' '}
          <select id={selectId} value={selected ?? ''} onChange={(e) => onSelect(e.target.value)}>
            {list.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </p>
      )}
      <form onSubmit={create} className="inline-form">
        <label htmlFor={nameId}>New {noun.toLowerCase()} name</label>{' '}
        <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} placeholder={noun} maxLength={200} />{' '}
        <button type="submit">Add {noun.toLowerCase()}</button>
      </form>
      {error && <p role="alert">{error}</p>}
    </div>
  );
}
