import {
  type Config,
  type Context,
  closeContext,
  createLogger,
  type DatabaseContext,
  type OpenOptions,
  openContext,
} from '@holdfast/server';

/**
 * How a command opens the database: 'write' brings the schema up to date
 * through the upgrade gate (creating a new database); 'read' opens an
 * existing database as it is and refuses a missing one or a schema that
 * needs migrating; 'inspect' is 'read' that also takes a schema awaiting
 * migrations (doctor, backups, upgrade).
 */
export type Access = 'read' | 'write' | 'inspect';

function openOptions(config: Config, access: Access): OpenOptions {
  return {
    migrate: access === 'write' ? 'gated' : 'never',
    anySchema: access === 'inspect',
    log: commandLog(config),
  };
}

/** A command's log goes no lower than warn, so its own output stays readable. */
function commandLog(config: Config) {
  const quiet = config.logLevel === 'info' || config.logLevel === 'debug' || config.logLevel === 'trace';
  return createLogger({ logLevel: quiet ? 'warn' : config.logLevel });
}

/** Runs `work` with the configured database only (no blob store or change notifications). */
export async function withDatabase<T>(
  config: Config,
  access: Access,
  work: (ctx: DatabaseContext) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(config, { ...openOptions(config, access), databaseOnly: true });
  try {
    return await work(ctx);
  } finally {
    await closeContext(ctx);
  }
}

/** Runs `work` with a full server context (database, blob store) for a command that reads or writes account data. */
export async function withCommandContext<T>(
  config: Config,
  access: Access,
  work: (ctx: Context) => Promise<T>,
): Promise<T> {
  const ctx = await openContext(config, openOptions(config, access));
  try {
    return await work(ctx);
  } finally {
    await closeContext(ctx);
  }
}
