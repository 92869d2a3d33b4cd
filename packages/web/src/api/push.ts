import { ApiError, apiFetch } from './http';

/** One change as `POST /v1/push` takes it (docs/protocol.md, section 5). */
export interface PushChange {
  collectionId: string;
  itemId: string;
  op: 'put' | 'delete';
  baseRevision: number | null;
  content?: unknown;
}

interface PushResult {
  clientChangeId: string;
  status: 'applied' | 'conflict' | 'rejected';
  revision?: number;
  code?: string;
  message?: string;
}

/**
 * Writes changes as the portal's device, all or nothing as far as the person
 * can tell: any change that is not applied is an error naming why (a conflict
 * means someone else changed it first; the page reloads it and the person
 * tries again). Returns the new revisions in order.
 */
export async function pushChanges(changes: PushChange[], confirmMassChange = false): Promise<number[]> {
  const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const body = {
    changes: changes.map((change, index) => ({ clientChangeId: `web-${stamp}-${index}`, ...change })),
    ...(confirmMassChange ? { confirmMassChange: true } : {}),
  };
  const { results } = await apiFetch<{ results: PushResult[] }>('/v1/push', { method: 'POST', body });
  const failed = results.find((result) => result.status !== 'applied');
  if (failed) {
    const detail =
      failed.status === 'conflict'
        ? 'It was changed somewhere else in the meantime. The page now shows the newer version; try again.'
        : (failed.message ?? 'The server refused the change.');
    throw new ApiError(409, failed.status === 'conflict' ? 'conflict' : (failed.code ?? 'rejected'), detail, failed);
  }
  return results.map((result) => result.revision ?? 0);
}

/** A new item id: ids are chosen by the client (docs/protocol.md, conventions). */
export function newItemId(): string {
  return crypto.randomUUID();
}
