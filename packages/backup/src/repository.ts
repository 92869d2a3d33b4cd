import { type KeyObject, randomBytes } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { z } from 'zod';
import { objectError } from './envelope.js';
import {
  createKeyObject,
  DEFAULT_SCRYPT,
  keyObjectSchema,
  objectKey,
  type RepositorySecret,
  type ScryptParams,
  secretBytes,
  sha256Hex,
  unwrapMasterKey,
} from './keys.js';
import { decodeJsonText, type RepositoryConfig, repositoryConfigSchema } from './schemas.js';
import { type Target, targetFailure } from './target.js';

/** The repository format version this code writes and reads. */
export const FORMAT_VERSION = 1;

/** Name of the config object. */
export const CONFIG_OBJECT = 'config';

/**
 * An open repository. The object key lives outside this value (in a module
 * WeakMap), so logging or serialising a repository cannot leak it.
 */
export interface Repository {
  readonly target: Target;
  readonly id: string;
  readonly config: RepositoryConfig;
  /** Name of the key object that opened this repository. */
  readonly keyObject: string;
  /** Time source for `createdAt` and similar fields. */
  readonly clock: () => Date;
}

/** Options for opening a repository. */
export interface OpenOptions {
  /** Time source for timestamps written into objects (default: the system clock). */
  clock?: () => Date;
}

/** Options for creating a repository or a key. */
export interface InitOptions extends OpenOptions {
  /** scrypt parameters for the key object; defaults to {@link DEFAULT_SCRYPT}. */
  kdf?: Partial<ScryptParams>;
}

const secrets = new WeakMap<Repository, { masterKey: Buffer; objectKey: KeyObject }>();

function secretsOf(repo: Repository): { masterKey: Buffer; objectKey: KeyObject } {
  const found = secrets.get(repo);
  if (!found) throw new AppError('internal', 'not an open repository');
  return found;
}

/** The object encryption key of an open repository (module-internal; not exported from the package). */
export function objectKeyOf(repo: Repository): KeyObject {
  return secretsOf(repo).objectKey;
}

/**
 * Creates a repository on an empty target: writes a key object wrapping a
 * fresh random master key, then the `config` object last (its presence marks
 * a complete repository), then opens it again with `secret` to prove the
 * stored key works. Refuses a target that already holds objects.
 */
export async function initRepository(
  target: Target,
  secret: RepositorySecret,
  options: InitOptions = {},
): Promise<Repository> {
  const existing = (await target.listObjects('')).filter((name) => !name.startsWith('keys/'));
  if (existing.length > 0) {
    throw new AppError('conflict', `${target.description} is not empty; a repository needs an empty target`, {
      objects: existing.slice(0, 10),
    });
  }
  const clock = options.clock ?? (() => new Date());
  const repositoryId = randomBytes(16).toString('hex');
  const masterKey = randomBytes(32);
  await putKeyObject(target, repositoryId, masterKey, await secretBytes(secret), options.kdf, clock());
  const config: RepositoryConfig = repositoryConfigSchema.parse({
    format: 'holdfast-backup',
    version: FORMAT_VERSION,
    repositoryId,
    createdAt: clock().toISOString(),
  });
  await target.putObject(CONFIG_OBJECT, Buffer.from(JSON.stringify(config), 'utf8'));
  return openRepository(target, secret, options);
}

async function putKeyObject(
  target: Target,
  repositoryId: string,
  masterKey: Buffer,
  secret: Buffer,
  kdf: Partial<ScryptParams> | undefined,
  now: Date,
): Promise<string> {
  const bytes = await createKeyObject(repositoryId, masterKey, secret, { ...DEFAULT_SCRYPT, ...kdf }, now);
  const name = `keys/${sha256Hex(bytes)}`;
  await target.putObject(name, bytes);
  return name;
}

/**
 * Opens the repository on `target`. Fails with `not_found` when there is no
 * repository, and with `unauthorized` ("wrong passphrase or key file") when
 * no key object accepts `secret`.
 */
export async function openRepository(
  target: Target,
  secret: RepositorySecret,
  options: OpenOptions = {},
): Promise<Repository> {
  const config = await readConfig(target);
  const secretValue = await secretBytes(secret);
  const keyNames = await target.listObjects('keys/');
  const unreadable: string[] = [];
  for (const name of keyNames) {
    const bytes = await target.getObject(name);
    const parsed = parseJson(bytes, keyObjectSchema);
    if (name !== `keys/${sha256Hex(bytes)}` || !parsed || parsed.repositoryId !== config.repositoryId) {
      unreadable.push(name);
      continue;
    }
    const masterKey = await unwrapMasterKey(parsed, secretValue);
    if (!masterKey) continue;
    const repo: Repository = Object.freeze({
      target,
      id: config.repositoryId,
      config,
      keyObject: name,
      clock: options.clock ?? (() => new Date()),
    });
    secrets.set(repo, { masterKey, objectKey: objectKey(masterKey, config.repositoryId) });
    return repo;
  }
  if (keyNames.length === unreadable.length) {
    throw new AppError('internal', `repository on ${target.description} has no readable key object`, { unreadable });
  }
  throw new AppError('unauthorized', 'wrong passphrase or key file', {
    keysTried: keyNames.length - unreadable.length,
  });
}

async function readConfig(target: Target): Promise<RepositoryConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await target.getObject(CONFIG_OBJECT);
  } catch (error) {
    if (targetFailure(error) !== 'missing') throw error;
    throw new AppError('not_found', `no Holdfast backup repository on ${target.description}`);
  }
  const config = parseJson(bytes, repositoryConfigSchema);
  if (!config) throw objectError('invalid', CONFIG_OBJECT, 'is not a valid repository config');
  if (config.version !== FORMAT_VERSION) {
    throw new AppError(
      'precondition_failed',
      `repository format version ${config.version} is not supported (this Holdfast reads version ${FORMAT_VERSION})`,
    );
  }
  return config;
}

/**
 * Adds a key object for `newSecret`, proves it opens the repository, then
 * deletes the key object this handle was opened with. Returns a handle opened
 * with the new secret. A crash in between leaves both secrets working, never
 * neither.
 */
export async function changeRepositorySecret(
  repo: Repository,
  newSecret: RepositorySecret,
  options: InitOptions = {},
): Promise<Repository> {
  const { masterKey } = secretsOf(repo);
  const added = await putKeyObject(
    repo.target,
    repo.id,
    masterKey,
    await secretBytes(newSecret),
    options.kdf,
    repo.clock(),
  );
  const reopened = await openRepository(repo.target, newSecret, { clock: options.clock ?? repo.clock });
  if (reopened.keyObject !== added) {
    throw new AppError('internal', `the new secret opened ${reopened.keyObject}, expected ${added}`);
  }
  if (added !== repo.keyObject) await repo.target.deleteObject(repo.keyObject);
  return reopened;
}

function parseJson<T extends z.ZodType>(bytes: Uint8Array, schema: T): z.infer<T> | null {
  let value: unknown;
  try {
    value = decodeJsonText(bytes);
  } catch {
    return null;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : null;
}
