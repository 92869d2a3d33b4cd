import { describe, expect, test } from 'vitest';
import { orderedId } from './ordered-ids.js';

describe('ordered ids', () => {
  test('are version 7 UUIDs that sort in the order they were made, even thousands in one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => orderedId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The time in the first 48 bits is now, give or take the milliseconds borrowed above.
    const ms = Number.parseInt(ids[0]?.replace(/-/g, '').slice(0, 12) ?? '', 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
