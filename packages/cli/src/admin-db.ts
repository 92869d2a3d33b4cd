import { type Config, type Db, databaseLocation, migrateToLatest, openDatabase } from '@holdfast/server';

/** Opens the configured database for an admin command, schema brought up to date. */
export async function withDatabase<T>(
  config: Config,
  work: (ctx: { db: Db; now: () => number }) => Promise<T>,
): Promise<T> {
  const db = openDatabase(databaseLocation(config));
  try {
    await migrateToLatest(db);
    return await work({ db, now: Date.now });
  } finally {
    await db.close();
  }
}
