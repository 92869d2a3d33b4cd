import { randomUUID } from 'node:crypto';
import type { CollectionType } from '@holdfast/protocol';
import type { Transaction } from 'kysely';
import { findCollection, oldestCollectionOfType } from '../store/import-lookups.js';
import type { Database } from '../store/schema.js';
import { collectionRevision, insertCollectionRow } from '../sync/collections.js';
import type { Append } from '../sync/write-transaction.js';
import type { CollectionSpec } from './import-source.js';

/** Where an imported item goes: a collection id, or why it cannot go anywhere. */
export type ImportDestination = { collectionId: string } | { reason: string };

export interface CreatedCollection {
  id: string;
  type: CollectionType;
  name: string;
}

const DEFAULT_NAMES: Record<CollectionType, string> = {
  contacts: 'Contacts',
  calendar: 'Calendar',
  tasks: 'Tasks',
  notes: 'Notes',
  photos: 'Photos',
  messages: 'Messages',
};

/**
 * Chooses (and where needed creates, inside the import's transaction) the
 * collection each item goes into:
 * - with `--collection ID`: that collection, if it holds this kind of item;
 * - an item from a bundle: the collection with its old id if that is free or
 *   is the same kind of collection, else a new one with its old name;
 * - otherwise: the user's oldest collection of the item's type, or a new one.
 */
export function createDestinationResolver(
  trx: Transaction<Database>,
  append: Append,
  owner: { userId: string; deviceId: string | null },
  now: number,
  collectionId: string | undefined,
) {
  const cache = new Map<string, ImportDestination>();
  const created: CreatedCollection[] = [];

  async function create(id: string, spec: Omit<CollectionSpec, 'id'>): Promise<string> {
    // Held to what the API accepts for a collection (createCollectionSchema), whatever a bundle says.
    const fields = {
      type: spec.type,
      name: [...spec.name].slice(0, 200).join('') || DEFAULT_NAMES[spec.type],
      description: [...spec.description].slice(0, 2000).join(''),
      color: spec.color !== null && /^#[0-9a-fA-F]{6}$/.test(spec.color) ? spec.color : null,
    };
    const revision = collectionRevision(
      { userId: owner.userId, username: '', deviceId: '' },
      id,
      'put',
      fields,
      now,
      'import',
    );
    const [seq] = await append([{ ...revision, device_id: owner.deviceId }]);
    await insertCollectionRow(trx, owner.userId, id, fields, seq as number, now);
    created.push({ id, type: spec.type, name: fields.name });
    return id;
  }

  const find = (id: string) => findCollection(trx, owner.userId, id);

  async function resolve(type: CollectionType, spec: CollectionSpec | undefined): Promise<ImportDestination> {
    if (collectionId !== undefined) {
      const row = await find(collectionId);
      if (!row || row.deleted === 1) return { reason: `no collection ${collectionId}` };
      if (row.type !== type) return { reason: `a ${type} item cannot go into ${row.type} collection ${collectionId}` };
      return { collectionId };
    }
    if (spec) {
      const row = await find(spec.id);
      if (row && row.deleted === 0 && row.type === type) return { collectionId: spec.id };
      return { collectionId: await create(row ? randomUUID() : spec.id, spec) };
    }
    const oldest = await oldestCollectionOfType(trx, owner.userId, type);
    if (oldest) return { collectionId: oldest.id };
    return {
      collectionId: await create(randomUUID(), { type, name: DEFAULT_NAMES[type], description: '', color: null }),
    };
  }

  return {
    created,
    async destinationOf(type: CollectionType, spec: CollectionSpec | undefined): Promise<ImportDestination> {
      const key = spec ? `bundle:${spec.id}:${type}` : `type:${type}`;
      const known = cache.get(key);
      if (known) return known;
      const destination = await resolve(type, spec);
      cache.set(key, destination);
      return destination;
    },
  };
}
