/**
 * The memory floor under the Holdfast server: a Node process that loads only the libraries every request path of
 * the server needs (Fastify with pino, Kysely on better-sqlite3, zod), opens a SQLite database in WAL mode, runs one
 * query, checks one zod schema and answers one route, and nothing of Holdfast. bench/dav.ts starts it with the
 * server's Node flags, as it is and bundled and minified with esbuild, and prints its RSS once it listens beside
 * the server's: no idle figure for the server can be lower than this one.
 *
 * Plain JavaScript, so that it runs on plain node (tsx alone adds about 50 MB).
 * HOLDFAST_FLOOR_DB: the database file. HOLDFAST_FLOOR_SQLITE_ADDON: better-sqlite3's native addon, for the bundle,
 * where better-sqlite3 cannot find it beside its own files.
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Kysely, SqliteDialect } from 'kysely';
import pino from 'pino';
import { z } from 'zod';

const addon = process.env.HOLDFAST_FLOOR_SQLITE_ADDON;
const sqlite = new Database(process.env.HOLDFAST_FLOOR_DB ?? ':memory:', addon ? { nativeBinding: addon } : {});
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = FULL');
const db = new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
await db.selectFrom('sqlite_master').select('name').execute();
z.object({ name: z.string().min(1), count: z.number().int() }).parse({ name: 'floor', count: 1 });

const app = Fastify({ loggerInstance: pino({ level: 'info' }) });
app.get('/healthz', async () => ({ ok: true }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`listening on ${url}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close().then(() => process.exit(0)));
