import { assertStored, listRepositoryObjects, loadJson, storeJson, typePrefix } from './object-store.js';
import type { Repository } from './repository.js';
import { type Verification, verificationSchema } from './schemas.js';

/** A stored verification record and its object name. */
export interface StoredVerification {
  object: string;
  record: Verification;
}

/**
 * Stores the result of a restore drill. The record is encrypted and
 * authenticated with the repository key like every object, so only a holder
 * of the key can produce a record that reads back as valid. The snapshot it
 * names must exist.
 */
export async function writeVerification(repo: Repository, record: Verification): Promise<StoredVerification> {
  await assertStored(repo, [record.snapshot], 'verification record');
  const { name, value } = await storeJson(repo, 'verification', verificationSchema, record);
  return { object: name, record: value };
}

/** Every verification record, oldest first by recorded time. Throws if any cannot be read. */
export async function listVerifications(repo: Repository): Promise<StoredVerification[]> {
  const records: StoredVerification[] = [];
  for (const object of await listRepositoryObjects(repo, typePrefix('verification'))) {
    records.push({ object, record: await loadJson(repo, 'verification', verificationSchema, object) });
  }
  return records.sort(
    (a, b) => Date.parse(a.record.time) - Date.parse(b.record.time) || (a.object < b.object ? -1 : 1),
  );
}
