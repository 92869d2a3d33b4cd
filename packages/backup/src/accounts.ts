import { listRepositoryObjects, loadJson, storeJson, typePrefix } from './object-store.js';
import type { Repository } from './repository.js';
import { type AccountState, accountStateSchema } from './schemas.js';

/** A stored account state and its object name. */
export interface StoredAccountState {
  object: string;
  state: AccountState;
}

/**
 * Stores the server's account tables as one object. Account states are
 * written whenever the tables changed, independently of journal segments,
 * so a device revoked or an app password created while no data changed is
 * on the target all the same.
 */
export async function writeAccountState(repo: Repository, state: AccountState): Promise<StoredAccountState> {
  const { name, value } = await storeJson(repo, 'accounts', accountStateSchema, state);
  return { object: name, state: value };
}

/** Reads, rehashes, decrypts and validates one account state. */
export function readAccountState(repo: Repository, object: string): Promise<AccountState> {
  return loadJson(repo, 'accounts', accountStateSchema, object);
}

/**
 * Orders account states as a restore must pick them: by the revision they
 * are at least as new as, then by recorded time (never by name).
 */
export function compareAccountStates(
  a: { object: string; seq: number; createdAt: string },
  b: { object: string; seq: number; createdAt: string },
): number {
  return a.seq - b.seq || Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.object < b.object ? -1 : 1);
}

/** Every account state, oldest first (see {@link compareAccountStates}). Throws if any cannot be read. */
export async function listAccountStates(repo: Repository): Promise<StoredAccountState[]> {
  const states: StoredAccountState[] = [];
  for (const object of await listRepositoryObjects(repo, typePrefix('accounts'))) {
    states.push({ object, state: await readAccountState(repo, object) });
  }
  return states.sort((a, b) =>
    compareAccountStates({ object: a.object, ...a.state }, { object: b.object, ...b.state }),
  );
}
