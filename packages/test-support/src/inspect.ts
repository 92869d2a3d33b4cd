import { createMemoryStore, type HoldfastClient, type ItemRecord } from '@holdfast/client';
import type { WireRevision } from '@holdfast/protocol';
import { expect } from 'vitest';
import { type Account, device, type LiveServer } from './live-server.js';

/** Live items of a replica as `id → content`, for comparing replicas. */
export function liveContents(client: HoldfastClient): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const collection of client.listCollections()) {
    for (const item of client.listItems(collection.id)) out.set(item.id, item.content);
  }
  return out;
}

/** What the server holds now, read by a throwaway device that restores the whole account. */
export async function serverContents(live: LiveServer, account: Account): Promise<Map<string, unknown>> {
  const probe = await device(live, account, { store: createMemoryStore(), name: 'probe' });
  await probe.restore();
  const contents = liveContents(probe);
  await probe.logout();
  return contents;
}

/** An item's revision history on the server, oldest first. */
export async function history(live: LiveServer, client: HoldfastClient, itemId: string): Promise<WireRevision[]> {
  const token = client.store.transaction((tx) => tx.getState().token);
  const response = await fetch(`${live.url}/v1/items/${itemId}/revisions?limit=1000`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { revisions: WireRevision[] }).revisions;
}

/** Asserts a replica has nothing left to send and agrees with the server's summary. */
export function expectSettled(client: HoldfastClient): void {
  expect(client.status()).toMatchObject({ pendingChanges: 0, rejectedChanges: 0, reseeding: false });
}

/** The one live item of a replica with this id, or a test failure. */
export function itemOf(client: HoldfastClient, id: string): ItemRecord {
  const item = client.getItem(id);
  expect(item, `item ${id}`).not.toBeNull();
  return item as ItemRecord;
}
