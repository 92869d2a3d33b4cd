import { AppError, type ErrorCode } from '@holdfast/protocol';

/**
 * A place backups are kept: a write-once object store. Contract (enforced for
 * every implementation by `@holdfast/test-support/target-contract`):
 *
 * - `putObject` never overwrites. Putting bytes under a name that already
 *   holds the same bytes is a no-op; different bytes fail with a
 *   `write_once` {@link TargetFailure}. When `putObject` resolves, the bytes
 *   are durable (fsynced, or acknowledged by the object store).
 * - `getObject` of a name that does not exist fails with `missing`; every
 *   other failure is `unavailable` (or `full`). Absence is only ever reported
 *   after the target itself was reached, so an unreachable target never
 *   looks like an empty one.
 * - `listObjects` returns every name starting with `prefix`, sorted, or
 *   throws. It never returns a partial list.
 * - `deleteObject` exists for pruning only, and is idempotent.
 */
export interface Target {
  /** Where the target points, for messages and logs (never contains credentials). */
  readonly description: string;
  /** Stores `bytes` under `name` unless that name exists; see the contract above. */
  putObject(name: string, bytes: Uint8Array): Promise<void>;
  /** The stored bytes of `name`. */
  getObject(name: string): Promise<Uint8Array>;
  /** Whether `name` exists. */
  hasObject(name: string): Promise<boolean>;
  /** Every stored name that starts with `prefix`, sorted by code unit. */
  listObjects(prefix: string): Promise<string[]>;
  /** Removes `name`; removing a name that does not exist succeeds. */
  deleteObject(name: string): Promise<void>;
  /** Bytes still available on the target, or null when the target cannot tell. */
  freeSpace(): Promise<number | null>;
  /** Releases connections or handles. */
  close(): Promise<void>;
}

/**
 * Why a target operation failed. Carried in `AppError.details.reason`.
 * - `missing`: the target was reached and the object is not there.
 * - `write_once`: the name already holds different bytes.
 * - `full`: the target has no room (disk full, quota exceeded).
 * - `unavailable`: the target could not be reached or refused the operation.
 * - `invalid_name`: the name breaks the naming rule of {@link assertObjectName}.
 */
export type TargetFailure = 'missing' | 'write_once' | 'full' | 'unavailable' | 'invalid_name';

const failureCodes: Record<TargetFailure, ErrorCode> = {
  missing: 'not_found',
  write_once: 'conflict',
  full: 'unavailable',
  unavailable: 'unavailable',
  invalid_name: 'invalid_request',
};

/**
 * Builds the error every target throws: an `AppError` whose details name the
 * target, the failure reason and (when there is one) the object.
 */
export function targetError(
  reason: TargetFailure,
  target: string,
  message: string,
  options: { object?: string; cause?: unknown } = {},
): AppError {
  const details: Record<string, unknown> = { reason, target };
  if (options.object !== undefined) details.object = options.object;
  const error = new AppError(failureCodes[reason], message, details);
  if (options.cause !== undefined) error.cause = options.cause;
  return error;
}

/** The {@link TargetFailure} of an error thrown by a target, or null for any other error. */
export function targetFailure(error: unknown): TargetFailure | null {
  if (!(error instanceof AppError)) return null;
  const reason = error.details?.reason;
  return typeof reason === 'string' && Object.hasOwn(failureCodes, reason) ? (reason as TargetFailure) : null;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * Object names are `/`-separated segments of letters, digits, `.`, `_` and
 * `-`; a segment never starts with `.` (so `..` and hidden temporary files
 * can never be names), and a name has at most 8 segments and 512 characters.
 * Names are the same on every target, so a repository can be copied between
 * them byte for byte.
 */
export function assertObjectName(name: string, target: string): void {
  if (!isObjectName(name)) {
    throw targetError('invalid_name', target, `invalid object name ${JSON.stringify(name)}`, { object: name });
  }
}

/** Whether `name` follows the naming rule of {@link assertObjectName}. */
export function isObjectName(name: string): boolean {
  const segments = name.split('/');
  return name.length <= 512 && segments.length <= 8 && segments.every((segment) => SEGMENT.test(segment));
}

/**
 * Checks a listing prefix: empty, or a valid name prefix (a trailing `/` or a
 * partial last segment is allowed).
 */
export function assertListPrefix(prefix: string, target: string): void {
  if (prefix === '') return;
  const probe = prefix.endsWith('/') ? `${prefix}x` : prefix;
  assertObjectName(probe, target);
}

/** Byte-wise equality of two buffers. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
