import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '@holdfast/protocol';
import { z } from 'zod';

/**
 * Every setting Holdfast reads, defined once. Command-line flags, HOLDFAST_*
 * environment variables, the config file and docs/configuration.md are all
 * derived from this table, so they cannot drift apart.
 */
interface FieldSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Flag name without dashes; defaults to the kebab-case field name. */
  flag?: string;
  /** Redacted in `doctor`, `config print` and logs. */
  secret?: boolean;
  description: string;
}

const field = <S extends z.ZodType>(spec: FieldSpec<S>): FieldSpec<S> => spec;
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const configFields = {
  dataDir: field({
    schema: z.string().min(1).default('./holdfast-data'),
    flag: 'data',
    description: 'Directory for the embedded database, blobs and the config file `holdfast.json`.',
  }),
  database: field({
    schema: z.string().default(''),
    flag: 'database',
    secret: true,
    description:
      'Database: a `postgres://` URL for PostgreSQL, or a SQLite file path. Empty means `<dataDir>/holdfast.db` (SQLite).',
  }),
  sqliteCacheMib: field({
    schema: int(1, 4096).default(4),
    description:
      "SQLite's page cache for the server's connection, in MiB (SQLite only). Pages beyond it are read from the operating system's file cache, which is shared and can be dropped under pressure; 4 keeps a server with 10,000 contacts about 12 MiB smaller than the 16 the SQLite build defaults to, at no measured cost in write speed.",
  }),
  blobs: field({
    schema: z.string().default(''),
    flag: 'blobs',
    description: 'Blob storage: `s3://bucket/prefix` for S3, or a directory. Empty means `<dataDir>/blobs`.',
  }),
  s3Endpoint: field({
    schema: z.string().default(''),
    description: 'S3 endpoint URL for S3-compatible storage (empty: AWS).',
  }),
  s3Region: field({ schema: z.string().default('us-east-1'), description: 'S3 region.' }),
  s3AccessKeyId: field({
    schema: z.string().default(''),
    secret: true,
    description: 'S3 access key id (empty: the AWS SDK default credential chain).',
  }),
  s3SecretAccessKey: field({ schema: z.string().default(''), secret: true, description: 'S3 secret access key.' }),
  host: field({ schema: z.string().min(1).default('127.0.0.1'), description: 'Address to listen on.' }),
  port: field({ schema: int(0, 65535).default(7870), description: 'TCP port to listen on (0 picks a free one).' }),
  shutdownGraceMs: field({
    schema: int(0, 600_000).default(10_000),
    description:
      'On SIGTERM or SIGINT, how long requests in flight may take to finish before their connections are closed, in milliseconds.',
  }),
  readyTimeoutMs: field({
    schema: int(10, 60_000).default(2000),
    description:
      'How long each `/readyz` check (database, blob store) may take before it counts as failed, in milliseconds.',
  }),
  logLevel: field({
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    description: 'Log level. Logs carry ids, counts and timings, never record contents or secrets.',
  }),
  maxBodyBytes: field({
    schema: int(1024, 1 << 30).default(32 * 1024 * 1024),
    description: 'Largest JSON request body accepted, in bytes.',
  }),
  maxControlBodyBytes: field({
    schema: int(1024, 1 << 30).default(64 * 1024),
    description:
      'Largest JSON body accepted by control routes (collections, restore, reseed report, …), in bytes. Push and reseed inventory take `maxBodyBytes`; blob uploads and imports stream up to `maxBlobBytes`.',
  }),
  maxLoginBodyBytes: field({
    schema: int(512, 1 << 20).default(8192),
    description: 'Largest body accepted by the unauthenticated login route, in bytes.',
  }),
  headersTimeoutMs: field({
    schema: int(1000, 3_600_000).default(20_000),
    description: 'Time a client has to send the complete request headers, in milliseconds. At most `requestTimeoutMs`.',
  }),
  requestTimeoutMs: field({
    schema: int(1000, 86_400_000).default(300_000),
    description:
      'Time a client has to send a complete request, body included, in milliseconds: large blob uploads must arrive within it.',
  }),
  idleTimeoutMs: field({
    schema: int(1000, 3_600_000).default(60_000),
    description:
      'A connection on which nothing is read or written for this long is closed, in milliseconds (a stalled upload, a silent client). Event streams send heartbeats well within it.',
  }),
  keepAliveTimeoutMs: field({
    schema: int(100, 600_000).default(5_000),
    description: 'How long an idle keep-alive connection is kept open between requests, in milliseconds.',
  }),
  lingerMs: field({
    schema: int(0, 60_000).default(2000),
    description:
      'After answering a request whose body was not read (a refused login or upload), how long the server discards what the client still sends before closing, in milliseconds; lets the client read the answer.',
  }),
  lingerMaxBytes: field({
    schema: int(0, 1024 * 1024 * 1024).default(1024 * 1024),
    description:
      'The most the server reads and discards of a refused body during `lingerMs`, in bytes; beyond it the server stops reading (the connection still closes after `lingerMs`), which bounds the reading a client that keeps sending can cause.',
  }),
  maxConnections: field({
    schema: int(1, 1_000_000).default(4096),
    description: 'Open connections the server accepts in total; further ones are closed at once.',
  }),
  maxConnectionsPerAddress: field({
    schema: int(1, 1_000_000).default(256),
    description:
      'Open connections accepted from one client address (as seen on the socket, so a reverse proxy counts as one address).',
  }),
  maxEventStreamsPerDevice: field({
    schema: int(1, 10_000).default(4),
    description: 'Open event streams (`GET /v1/events`) one device may hold; beyond it the server answers 429.',
  }),
  maxEventStreamsPerUser: field({
    schema: int(1, 100_000).default(32),
    description: 'Open event streams one user may hold across all devices; beyond it the server answers 429.',
  }),
  eventStreamCheckMs: field({
    schema: int(100, 3_600_000).default(15_000),
    description:
      'How often an open event stream re-checks that its device is unrevoked and its user enabled, in milliseconds (also checked before each change event).',
  }),
  davMaxMultigetHrefs: field({
    schema: int(1, 1_000_000).default(5000),
    description: 'Hrefs one DAV multiget REPORT may name; larger requests are refused with 403 and a DAV precondition.',
  }),
  davMaxRecurrenceSteps: field({
    schema: int(1000, 1_000_000_000).default(200_000),
    description:
      'Recurrence instances one DAV REPORT may compute across all its events (time-range filters and expansion); beyond it the request is refused with 403 and a DAV precondition instead of running on.',
  }),
  davRecoveryRetryAfterSeconds: field({
    schema: int(1, 86_400).default(600),
    description:
      'Retry-After, in seconds, on the 503 answered to CardDAV/CalDAV reads of an account held after the server lost data (until its devices re-seed or `holdfast recovery accept`).',
  }),
  maxBlobBytes: field({
    schema: int(1, 64 * 1024 * 1024 * 1024).default(1024 * 1024 * 1024),
    description: 'Largest blob (photo, attachment) accepted, in bytes.',
  }),
  trashRetentionDays: field({
    schema: int(1, 36_500).default(30),
    description:
      'How long a deleted item stays in the trash (`GET /v1/trash`), in days. Its revisions stay in the log after that; a point-in-time restore still reaches it.',
  }),
  thumbnailMaxSourceBytes: field({
    schema: int(1024, 4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    description: 'Largest blob a thumbnail is made of, in bytes; larger ones answer 413.',
  }),
  thumbnailMaxInputPixels: field({
    schema: int(1, 1_000_000_000).default(100_000_000),
    description: 'Largest image, in pixels (width times height), a thumbnail is made of; larger ones answer 413.',
  }),
  thumbnailConcurrency: field({
    schema: int(1, 64).default(2),
    description: 'Thumbnails made at once; further requests wait their turn (a cached thumbnail never waits).',
  }),
  maxImportManifestBytes: field({
    schema: int(1024, 4 * 1024 * 1024 * 1024).default(128 * 1024 * 1024),
    description:
      'Largest `manifest.json` an imported export may hold, decompressed, in bytes (it is read whole; about 200 bytes per item). Larger ones are refused with 413 before anything is read or stored.',
  }),
  maxImportEntryBytes: field({
    schema: int(1024, 1024 * 1024 * 1024 * 1024).default(4 * 1024 * 1024 * 1024),
    description:
      "Largest single file in an imported export ZIP, decompressed, in bytes (as the ZIP's directory states it, which is checked while inflating). Refused with 413 before anything is stored.",
  }),
  maxImportArchiveBytes: field({
    schema: int(1024, 1024 * 1024 * 1024 * 1024).default(64 * 1024 * 1024 * 1024),
    description:
      'Largest total decompressed size of an imported export ZIP, in bytes: guards against ZIP bombs. Refused with 413 before anything is stored.',
  }),
  quotaBytesPerUser: field({
    schema: int(0, Number.MAX_SAFE_INTEGER).default(50 * 1024 * 1024 * 1024),
    description:
      'Storage one user may use, in bytes: item content plus blobs (photos, attachments). Writes past it are refused with 507 `quota_exceeded`; a warning is given from 90%. 0 means unlimited.',
  }),
  quotaItemsPerUser: field({
    schema: int(0, Number.MAX_SAFE_INTEGER).default(1_000_000),
    description:
      'Live items (contacts, events, notes, …) one user may keep. New items past it are refused with 507 `quota_exceeded`; a warning is given from 90%. 0 means unlimited.',
  }),
  loginBurst: field({
    schema: int(1, 1000).default(10),
    description:
      'Failed device logins allowed in a burst per username and client address before a lock-out; each further lock-out of the same pair lasts twice as long.',
  }),
  loginRefillPerMinute: field({
    schema: int(1, 6000).default(6),
    description:
      'Failed-login allowance regained per minute after a burst; the first lock-out lasts one such interval.',
  }),
  loginAddressBurst: field({
    schema: int(1, 100_000).default(50),
    description:
      'Failed logins allowed in a burst per client address over all usernames (known or not), counted separately for device logins and DAV app passwords.',
  }),
  loginMaxLockoutSeconds: field({
    schema: int(1, 86_400).default(900),
    description: 'Longest lock-out after repeated failed logins, in seconds.',
  }),
  davLoginBurst: field({
    schema: int(1, 1000).default(10),
    description:
      'Failed DAV (app password) sign-ins allowed in a burst per username and client address; a budget apart from device logins.',
  }),
  davCredentialCacheSeconds: field({
    schema: int(0, 3600).default(300),
    description:
      'How long a verified DAV app password is remembered, in seconds, so the requests after it skip argon2 (each still re-reads revocation, disabled users and password changes from the database). 0 turns the cache off.',
  }),
  davCredentialCacheEntries: field({
    schema: int(0, 1_000_000).default(5000),
    description:
      'Most verified DAV credentials remembered at once (about 500 bytes each); the least recently used leave first. 0 turns the cache off.',
  }),
  sessionIdleMinutes: field({
    schema: int(1, 525_600).default(720),
    description:
      'A web portal session ends after this many minutes without a request; the person signs in again. Device tokens do not expire.',
  }),
  sessionMaxDays: field({
    schema: int(1, 3650).default(30),
    description: 'A web portal session ends this many days after sign-in, however active it is.',
  }),
  webDir: field({
    schema: z.string().default(''),
    description:
      'Directory of the built web portal, served at `/`. Empty means the portal installed beside the server package (`packages/web/dist`); when that directory is missing the portal is not served.',
  }),
  trustedProxies: field({
    schema: z
      .string()
      .default('')
      .refine((value) => value.split(',').every((part) => /^[0-9a-fA-F:.]*(\/\d{1,3})?$/.test(part.trim())), {
        message: 'expected comma-separated IP addresses or CIDR ranges',
      }),
    description:
      'Reverse proxies whose `X-Forwarded-For` names the client address (comma-separated addresses or CIDR ranges). Empty: the direct peer is the client and the header is ignored.',
  }),
  backupTargets: field({
    schema: z.string().default(''),
    description:
      'Backup targets, comma-separated: directories (which must exist) and `s3://bucket/prefix` URLs (using the s3* settings). Each target is an independent repository; configure at least two. Empty disables backups.',
  }),
  backupPassphrase: field({
    schema: z.string().default(''),
    secret: true,
    description: 'Passphrase of the backup repositories. Prefer `backupPassphraseFile`.',
  }),
  backupPassphraseFile: field({
    schema: z.string().default(''),
    description: 'File holding the backup repository key or passphrase (its bytes are used exactly as stored).',
  }),
  drillScratchDir: field({
    schema: z.string().default(''),
    description:
      'Directory where restore drills build their scratch database (it needs room for a full restore). Empty means `<dataDir>/drill-scratch`; the system temporary directory is not used.',
  }),
  backupShipIntervalMs: field({
    schema: int(100, 3_600_000).default(1000),
    description:
      'Longest wait between shipping passes to every backup target, in milliseconds: a commit starts one at once, and a target in an outage is retried at this interval.',
  }),
  backupAck: field({
    schema: z.enum(['target', 'local']).default('target'),
    description:
      'When a write is acknowledged while backup targets are configured: `target` once the journal segment holding it is on `backupAckTargets` targets (RPO 0), `local` once it is durable on this server only (RPO: the shipping lag, normally under a second).',
  }),
  backupAckTargets: field({
    schema: int(1, 16).default(1),
    description:
      'With `backupAck=target`: how many backup targets must hold a write before it is acknowledged (at most the number configured).',
  }),
  backupAckTimeoutMs: field({
    schema: int(100, 600_000).default(5000),
    description:
      'With `backupAck=target`: how long a write waits for its backup targets, in milliseconds, before `backupAckOnTimeout` applies.',
  }),
  backupAckOnTimeout: field({
    schema: z.enum(['local', 'refuse']).default('local'),
    description:
      'When the backup targets do not answer within `backupAckTimeoutMs`: `local` acknowledges with durability `local` (and records a `backup_ack_degraded` incident), `refuse` answers 503 `backup_unavailable` (the write is stored on this server; retrying it is safe).',
  }),
  backupSnapshotInterval: field({
    schema: int(60_000, 30 * 86_400_000).default(3_600_000),
    description:
      'How often a compacted snapshot is taken, in milliseconds (when revisions arrived since the last one).',
  }),
  backupDrillInterval: field({
    schema: int(0, 30 * 86_400_000).default(86_400_000),
    description:
      'How often the server runs a restore drill (verify) of the newest snapshot, in milliseconds; 0 disables the scheduled drill.',
  }),
  backupLagAlertSeconds: field({
    schema: int(1, 86_400).default(60),
    description: 'Journal lag, in seconds, above which a `journal_lag` incident is recorded and logged.',
  }),
  backupTargetMinFreeBytes: field({
    schema: int(0, Number.MAX_SAFE_INTEGER).default(1_073_741_824),
    description:
      "Free space on a backup target, in bytes, below which `doctor` and the operators' overview (`GET /v1/admin/overview`) count it as full (0: never).",
  }),
  backupKeepLast: field({
    schema: int(1, 10_000).default(3),
    description: 'Retention: newest snapshots always kept. The newest verified snapshot is kept regardless.',
  }),
  backupKeepHourly: field({ schema: int(0, 10_000).default(24), description: 'Retention: hourly snapshots kept.' }),
  backupKeepDaily: field({ schema: int(0, 10_000).default(7), description: 'Retention: daily snapshots kept.' }),
  backupKeepWeekly: field({ schema: int(0, 10_000).default(4), description: 'Retention: weekly snapshots kept.' }),
  backupKeepMonthly: field({
    schema: int(0, 10_000).default(12),
    description: 'Retention: monthly snapshots kept.',
  }),
  backupPruneMarginMs: field({
    schema: int(0, 30 * 86_400_000).default(86_400_000),
    description:
      'Prune deletes an object only if it was already unreferenced in a mark at least this many milliseconds earlier.',
  }),
  upgradeMaxLag: field({
    schema: int(0, Number.MAX_SAFE_INTEGER).default(0),
    description:
      'Upgrade gate: revisions the newest verified snapshot plus its journal may be behind the database head.',
  }),
  upgradeMaxAgeMs: field({
    schema: int(0, 30 * 86_400_000).default(3_600_000),
    description: 'Upgrade gate: maximum age of the verified snapshot, in milliseconds.',
  }),
  massDeleteMaxItems: field({
    schema: int(1, 1_000_000).default(50),
    description:
      'Mass-change guard: a push may delete this many items of one collection without the user confirming (`confirmMassChange`); see docs/protocol.md.',
  }),
  massDeleteMaxPercent: field({
    schema: int(1, 100).default(10),
    description:
      "Mass-change guard: share of a collection's live items, in percent, a push may delete unconfirmed when that is more than `massDeleteMaxItems`.",
  }),
  massDeleteWindowMs: field({
    schema: int(1000, 86_400_000).default(60_000),
    description:
      'Mass-change guard: deletions from one device or app password within this many milliseconds count together (bursts of small pushes, DAV DELETEs).',
  }),
  smtpUrl: field({
    schema: z
      .string()
      .default('')
      .refine((value) => value === '' || /^smtps?:\/\/[^/]/.test(value), {
        message: 'expected an smtp:// or smtps:// URL',
      }),
    secret: true,
    description:
      'SMTP server that people are mailed through when an incident, a restore or a re-seed touches their data, e.g. `smtp://user:password@mail.example.org:587` (STARTTLS when offered) or `smtps://…:465`. Empty: no mail is sent (`doctor` says so); the portal still shows the notices.',
  }),
  mailFrom: field({
    schema: z.string().min(3).default('Holdfast <holdfast@localhost>'),
    description: 'The From address of those mails, e.g. `Holdfast <holdfast@example.org>`.',
  }),
  portalUrl: field({
    schema: z
      .string()
      .default('')
      .refine((value) => value === '' || /^https?:\/\/[^/]/.test(value), { message: 'expected an http(s) URL' }),
    description:
      "The portal's public address, linked from every mail (e.g. `https://holdfast.example.org`). Empty: mails carry no link.",
  }),
  smtpTimeoutMs: field({
    schema: int(1000, 600_000).default(30_000),
    description: 'How long connecting to the SMTP server and each step of sending may take, in milliseconds.',
  }),
  notifyPollMs: field({
    schema: int(100, 3_600_000).default(5000),
    description: 'How often the notifier looks for new ledger entries and mails due for a retry, in milliseconds.',
  }),
  notifyRetryMs: field({
    schema: int(1000, 86_400_000).default(300_000),
    description:
      'Wait before retrying a mail the SMTP server did not take, in milliseconds; doubled after each further failure.',
  }),
  notifyMaxAttempts: field({
    schema: int(1, 100).default(6),
    description: 'Attempts at delivering one mail before giving up (each attempt is on the ledger).',
  }),
  notifyMaxAgeMs: field({
    schema: int(60_000, 365 * 86_400_000).default(7 * 86_400_000),
    description:
      'Ledger entries older than this, in milliseconds, are not mailed about when the notifier first reaches them (after mail is turned on, or an upgrade); the portal still shows them.',
  }),
  noticesMaxAgeMs: field({
    schema: int(60_000, 3650 * 86_400_000).default(30 * 86_400_000),
    description: "How far back, in milliseconds, the portal's notices (`GET /v1/notices`) reach.",
  }),
  noticesMax: field({
    schema: int(1, 1000).default(50),
    description: 'Most notices `GET /v1/notices` lists (the newest first).',
  }),
} satisfies Record<string, FieldSpec>;

export type ConfigKey = keyof typeof configFields;
export type Config = Readonly<{ [K in ConfigKey]: z.output<(typeof configFields)[K]['schema']> }>;

const keys = Object.keys(configFields) as ConfigKey[];

export function envName(key: ConfigKey): string {
  return `HOLDFAST_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export function flagName(key: ConfigKey): string {
  const spec: FieldSpec = configFields[key];
  return spec.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Options for node:util parseArgs, one string flag per setting. */
export function configFlagOptions(): Record<string, { type: 'string' }> {
  return Object.fromEntries(keys.map((k) => [flagName(k), { type: 'string' as const }]));
}

export interface ConfigSources {
  /** Parsed flags, keyed by flag name (as from configFlagOptions). */
  flags?: Record<string, string | boolean | undefined>;
  env?: Record<string, string | undefined>;
  /** Explicit config file; else `<dataDir>/holdfast.json` if it exists. */
  configFile?: string;
}

/**
 * Resolves the configuration: defaults, then the config file, then HOLDFAST_*
 * environment variables, then flags. The data directory itself cannot come
 * from the file that lives inside it.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const fromEnv: Record<string, unknown> = {};
  const fromFlags: Record<string, unknown> = {};
  for (const key of keys) {
    const e = env[envName(key)] ?? secretFromFile(key, env);
    if (e !== undefined && e !== '') fromEnv[key] = e;
    const f = flags[flagName(key)];
    if (f !== undefined) fromFlags[key] = f;
  }
  const dataDir = String(fromFlags.dataDir ?? fromEnv.dataDir ?? './holdfast-data');
  const file = sources.configFile ?? join(dataDir, 'holdfast.json');
  const fromFile = existsSync(file) ? readConfigFile(file) : {};
  if ('dataDir' in fromFile) {
    throw new AppError('invalid_request', `${file}: dataDir cannot be set in the config file that lives inside it.`);
  }
  const merged = { ...fromFile, ...fromEnv, ...fromFlags };
  const schema = z.strictObject(Object.fromEntries(keys.map((k) => [k, configFields[k].schema])));
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const where = keys.includes(key as ConfigKey)
      ? ` (--${flagName(key as ConfigKey)} / ${envName(key as ConfigKey)})`
      : '';
    throw new AppError('invalid_request', `Invalid setting ${key}${where}: ${issue?.message ?? 'invalid'}`);
  }
  const config = { ...(parsed.data as Record<string, unknown>), dataDir: resolve(String(parsed.data.dataDir)) };
  return Object.freeze(config) as Config;
}

/** The environment variable naming a file that holds a secret setting (for container secrets). */
export function envFileName(key: ConfigKey): string | undefined {
  const spec: FieldSpec = configFields[key];
  // A secret with a file setting of its own (backupPassphraseFile) already has this variable.
  if (!spec.secret || `${key}File` in configFields) return undefined;
  return `${envName(key)}_FILE`;
}

function secretFromFile(key: ConfigKey, env: Record<string, string | undefined>): string | undefined {
  const name = envFileName(key);
  const path = name ? env[name] : undefined;
  if (!name || path === undefined || path === '') return undefined;
  try {
    // One trailing newline is an artefact of how such files are written, never part of the secret.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new AppError(
      'invalid_request',
      `${name}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** Where restore drills put their scratch database. */
export function drillScratchLocation(config: Pick<Config, 'drillScratchDir' | 'dataDir'>): string {
  return config.drillScratchDir === '' ? join(config.dataDir, 'drill-scratch') : resolve(config.drillScratchDir);
}

function readConfigFile(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AppError('invalid_request', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AppError('invalid_request', `${file} must hold a JSON object of settings.`);
  }
  const unknown = Object.keys(data).filter((k) => !keys.includes(k as ConfigKey));
  if (unknown.length > 0) throw new AppError('invalid_request', `${file}: unknown settings ${unknown.join(', ')}`);
  return data as Record<string, unknown>;
}

/** The configuration with secrets replaced, for logs, `doctor` and `config print`. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const spec: FieldSpec = configFields[key];
    const value = config[key];
    if (spec.secret && value !== '') {
      out[key] = typeof value === 'string' && /^postgres/.test(value) ? redactPassword(value) : '***';
    } else out[key] = value;
  }
  return out;
}

function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

/** The SQLite path or PostgreSQL URL the server will open. */
export function databaseLocation(config: Config): string {
  return config.database === '' ? join(config.dataDir, 'holdfast.db') : config.database;
}

/** docs/configuration.md, generated from the table above. */
export function configReference(): string {
  const rows = keys.map((key) => {
    const spec: FieldSpec = configFields[key];
    const parsed = spec.schema.safeParse(undefined);
    const fallback = parsed.success ? JSON.stringify(parsed.data) : '(required)';
    const fileEnv = envFileName(key);
    const environment = `\`${envName(key)}\`${fileEnv ? ` or \`${fileEnv}\`` : ''}`;
    return `| \`${key}\` | \`--${flagName(key)}\` | ${environment} | \`${fallback}\` | ${spec.description}${spec.secret ? ' (secret: redacted in output)' : ''} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from packages/server/src/config.ts by `holdfast config reference`; config.test.ts keeps it in step. -->',
    '',
    'Holdfast reads settings from, in increasing priority: built-in defaults, the JSON file `<dataDir>/holdfast.json`',
    '(or `--config FILE`), `HOLDFAST_*` environment variables, and command-line flags. `holdfast config print` shows',
    'the effective values with secrets redacted. With no settings at all, `holdfast serve` runs on the embedded',
    'SQLite database and local blob store in `./holdfast-data`. Every secret setting can also be read from a file',
    'named by the same environment variable with `_FILE` appended (e.g. `HOLDFAST_DATABASE_FILE`), for container',
    'secrets; one trailing newline in the file is ignored.',
    '',
    '| Setting (file key) | Flag | Environment | Default | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
