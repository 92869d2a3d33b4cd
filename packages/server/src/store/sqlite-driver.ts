import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * better-sqlite3 12 is the last line that runs on Node 20, but on Node 22+ its statements can be finalized
 * after Node has torn down the environment, which aborts the process at exit. 13 (installed under an alias)
 * fixes that and needs Node 22+, so each runtime loads the line that is safe for it.
 */
export const SqliteDatabase: typeof BetterSqlite3 =
  Number(process.versions.node.split('.')[0]) >= 22 ? require('better-sqlite3-napi') : require('better-sqlite3');
