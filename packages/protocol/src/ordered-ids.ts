import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;
// Random bytes drawn 256 ids at a time: one call into the generator per id cost more than the rest of the id.
const pool = Buffer.alloc(16 * 256);
let used = pool.length;

/**
 * A new id for an item, a collection or a change, made where it is created (a
 * device, an import): a UUID of version 7 (RFC 9562), its first 48 bits the
 * time in milliseconds and the next 12 a counter, the rest random. Ids made
 * one after another sort one after another, so the server's indexes keyed by
 * them (items, revisions by item, push receipts) take new rows at their end
 * instead of all over them: the 100,000 items of an imported backup, or a
 * device's push of new notes, touch and rewrite far fewer pages. The id shows
 * when it was made, which its own revision records anyway.
 */
export function orderedId(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    // 4,096 ids in one millisecond: borrow the next one, so the order holds.
    if (counter > 0xfff) {
      ms = lastMs + 1;
      counter = 0;
    }
  } else counter = 0;
  lastMs = ms;
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += 16;
  pool.writeUIntBE(ms, at, 6);
  pool[at + 6] = 0x70 | (counter >> 8);
  pool[at + 7] = counter & 0xff;
  pool[at + 8] = 0x80 | ((pool[at + 8] as number) & 0x3f);
  const hex = pool.toString('hex', at, at + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
