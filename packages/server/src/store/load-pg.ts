import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | undefined;

/**
 * The PostgreSQL driver, loaded when a PostgreSQL database is first opened
 * rather than at startup: the embedded SQLite default should not pay for it.
 */
export function loadPg(): typeof pg {
  loaded ??= createRequire(import.meta.url)('pg') as typeof pg;
  return loaded;
}
