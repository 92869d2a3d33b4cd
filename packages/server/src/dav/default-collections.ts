import { randomUUID } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { listCollectionRows, readCollection } from '../store/collections.js';
import { createCollection } from '../sync/collections.js';
import type { Family } from './dav-paths.js';
import type { DavType } from './dav-store.js';

const DEFAULTS: Record<Family, { type: DavType; id: string; name: string }[]> = {
  addressbooks: [{ type: 'contacts', id: 'contacts', name: 'Contacts' }],
  calendars: [
    { type: 'calendar', id: 'calendar', name: 'Calendar' },
    { type: 'tasks', id: 'tasks', name: 'Tasks' },
  ],
};

/**
 * DAV clients (iOS, python-caldav) expect a home to hold somewhere to write:
 * on a listing of a home, each default collection ("Contacts", "Calendar",
 * "Tasks") is made if the account has never had a collection of its type.
 * Made here, on first discovery, rather than with the account, so accounts
 * that never use DAV stay empty, and a user who deleted every calendar does
 * not get one back. Two concurrent listings race on the fixed id; the loser
 * finds it made.
 */
export async function ensureDefaultCollections(ctx: Context, caller: Caller, family: Family): Promise<void> {
  const missing = DEFAULTS[family];
  const rows = await listCollectionRows(ctx.db, caller.userId, true);
  const had = new Set(rows.map((row) => row.type));
  for (const wanted of missing) {
    if (had.has(wanted.type)) continue;
    const taken = (await readCollection(ctx.db, caller.userId, wanted.id)) !== undefined;
    const id = taken ? randomUUID() : wanted.id;
    try {
      await createCollection(ctx, caller, { id, type: wanted.type, name: wanted.name, description: '', color: null });
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'conflict')) throw error;
    }
  }
}
