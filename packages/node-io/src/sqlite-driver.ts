import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * No single better-sqlite3 line is safe on every Node this project supports (20.19 and later):
 * - 12 runs on Node 20, but on Node 22+ its statements can be finalized after Node has torn down the
 *   environment, which aborts the process (SIGABRT) at exit or at a garbage collection;
 * - 13 fixes that but needs Node 22+: on Node 20 it installs with a warning and then crashes.
 * So 13 is installed under an alias and each runtime loads the line that is safe for it. 13 also ships
 * N-API (ABI-stable) binaries, so a tree installed on Node 20 runs on Node 24 without a rebuild.
 * When Node 20 support ends, depend on 13 alone and drop this switch.
 */
export const sqliteDriverPackage =
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
export const SqliteDatabase: typeof BetterSqlite3 = require(sqliteDriverPackage);
/** Where the loaded line is installed: a worker thread that opens its own connection loads the same one. */
export const sqliteDriverPath: string = require.resolve(sqliteDriverPackage);
