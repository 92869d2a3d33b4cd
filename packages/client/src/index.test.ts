import { describe, expect, it } from 'vitest';
import * as client from './index.js';

describe('public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(client).sort()).toEqual([
      'DEFAULT_BACKOFF',
      'DEFAULT_MASS_CHANGE_LIMIT',
      'EMPTY_STATE',
      'HoldfastClient',
      'HoldfastError',
      'backoffDelay',
      'contentHash',
      'createClient',
      'createFileBlobCache',
      'createMemoryBlobCache',
      'createMemoryStore',
      'isBlanking',
      'itemDigest',
      'massChangeLimit',
      'openSqliteStore',
      'prepareContent',
      'replicaSummaries',
    ]);
  });
});
