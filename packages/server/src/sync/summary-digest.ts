import { createHash } from 'node:crypto';

/** One live item's contribution to its collection digest (see protocol/summary.ts). */
export function itemDigest(itemId: string, hash: string): string {
  return createHash('sha256').update(`${itemId}\n${hash}`, 'utf8').digest('hex').slice(0, 32);
}
