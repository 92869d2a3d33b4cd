import { parseArgs } from 'node:util';
import { AppError } from '@holdfast/protocol';
import { type Config, configFlagOptions, loadConfig } from '@holdfast/server/config';
import { type Io, processIo } from './io.js';

export interface Invocation {
  config: Config;
  /** Positional words after the command, e.g. ['add', 'alice']. */
  args: string[];
  /** Flags that are not settings, e.g. --generate. */
  options: Record<string, string | boolean | undefined>;
  io: Io;
}

type Command = (invocation: Invocation) => Promise<number>;

/**
 * Each command's module is loaded when that command runs: `holdfast serve` then never holds the code of the
 * backup, import/export or device commands (nor the libraries they pull in), and a short command starts fast.
 */
const commands: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: {
    load: () => import('./serve-command.js').then((m) => m.serveCommand),
    summary: 'run the server (embedded SQLite in ./holdfast-data by default) [--new-deployment]',
  },
  user: {
    load: () => import('./user-command.js').then((m) => m.userCommand),
    summary:
      'user add NAME [--admin] [--email ADDRESS] | list | passwd|disable|enable NAME | admin NAME on|off | email NAME ADDRESS|none',
  },
  device: {
    load: () => import('./device-command.js').then((m) => m.deviceCommand),
    summary:
      'device list|revoke (admin); device login|sync|watch|status|add-contact|delete|export --replica FILE (a device)',
  },
  'app-password': {
    load: () => import('./app-password-command.js').then((m) => m.appPasswordCommand),
    summary: 'app-password add|list|revoke (for CardDAV/CalDAV clients)',
  },
  doctor: {
    load: () => import('./doctor-command.js').then((m) => m.doctorCommand),
    summary: 'check configuration, schema, counts and free disk',
  },
  config: {
    load: () => import('./config-command.js').then((m) => m.configCommand),
    summary: 'config print | config reference',
  },
  ledger: {
    load: () => import('./ledger-command.js').then((m) => m.ledgerCommand),
    summary: 'ledger list [--user NAME] | show SEQ | verify (the incident ledger)',
  },
  'restore-to': {
    load: () => import('./restore-to-command.js').then((m) => m.restoreToCommand),
    summary: 'restore-to --user NAME --at TIME|--revision N [--collection ID] [--keep-newer] [--yes]',
  },
  backup: {
    load: () => import('./backup-command.js').then((m) => m.backupCommand),
    summary: 'backup init|run|status|list|verify|restore|prune',
  },
  upgrade: {
    load: () => import('./upgrade-command.js').then((m) => m.upgradeCommand),
    summary: 'back up, verify by restoring, then migrate the database',
  },
  export: {
    load: () => import('./export-command.js').then((m) => m.exportCommand),
    summary: 'export --user NAME --out FILE.zip [--vcard 3] (the whole account)',
  },
  import: {
    load: () => import('./import-command.js').then((m) => m.importCommand),
    summary: 'import --user NAME FILE [--collection ID] | --list | --undo ID',
  },
  'verify-export': {
    load: () => import('./verify-export-command.js').then((m) => m.verifyExportCommand),
    summary: 'verify-export FILE.zip [--server URL --token T | --user NAME]',
  },
  recovery: {
    load: () => import('./recovery-command.js').then((m) => m.recoveryCommand),
    summary: 'recovery list | accept --user NAME|--all (end the DAV hold after data loss)',
  },
  contacts: {
    load: () => import('./contacts-command.js').then((m) => m.contactsCommand),
    summary: 'contacts duplicates --user NAME (suggests, never merges)',
  },
};

const extraOptions = {
  config: { type: 'string' },
  user: { type: 'string' },
  label: { type: 'string' },
  generate: { type: 'boolean' },
  admin: { type: 'boolean' },
  at: { type: 'string' },
  revision: { type: 'string' },
  collection: { type: 'string' },
  'keep-newer': { type: 'boolean' },
  yes: { type: 'boolean' },
  'confirm-mass-change': { type: 'boolean' },
  all: { type: 'boolean' },
  replica: { type: 'string' },
  name: { type: 'string' },
  tel: { type: 'string' },
  email: { type: 'string' },
  dir: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  sample: { type: 'string' },
  target: { type: 'string' },
  'to-data': { type: 'string' },
  'to-database': { type: 'string' },
  seq: { type: 'string' },
  generation: { type: 'string' },
  'dry-run': { type: 'boolean' },
  out: { type: 'string' },
  vcard: { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  undo: { type: 'string' },
  list: { type: 'boolean' },
  'new-deployment': { type: 'boolean' },
} as const;

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  holdfast ${name.padEnd(13)} ${c.summary}`);
  return [
    'Usage:',
    ...lines,
    '',
    'Settings can be given as flags, e.g. --data DIR --port N; see `holdfast config reference`.',
  ].join('\n');
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...configFlagOptions(), ...extraOptions },
      allowPositionals: true,
      strict: true,
    });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const [name, ...args] = parsed.positionals;
    if (!name || values.help || !commands[name]) {
      (name && !commands[name] ? io.err : io.out)(usage());
      return name && !commands[name] ? 2 : 0;
    }
    const configFile = typeof values.config === 'string' ? values.config : undefined;
    const config = loadConfig({ flags: values, env: io.env, ...(configFile ? { configFile } : {}) });
    const run = await (commands[name] as { load: () => Promise<Command> }).load();
    return await run({ config, args, options: values, io });
  } catch (error) {
    if (error instanceof AppError) {
      io.err(`holdfast: ${error.message}`);
      return error.code === 'internal' ? 1 : 2;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`holdfast: ${error.message}\n\n${usage()}`);
      return 2;
    }
    io.err(`holdfast: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

const entry = process.argv[1] ?? '';
if (import.meta.url === `file://${entry}` || /packages\/cli\/src\/main\.ts$/.test(entry)) {
  process.exitCode = await main(process.argv.slice(2));
}
