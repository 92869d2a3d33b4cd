import { describe, expect, test } from 'vitest';
import { lazyModule } from './lazy-module.js';

describe('a lazily loaded module', () => {
  test('is loaded on the first call only, and every call gets the same module', async () => {
    let loads = 0;
    const load = lazyModule(async () => {
      loads++;
      return await import('./lazy-module.js');
    });
    expect(loads).toBe(0);
    const [first, second] = await Promise.all([load(), load()]);
    expect(await load()).toBe(first);
    expect(second).toBe(first);
    expect(loads).toBe(1);
  });
});
