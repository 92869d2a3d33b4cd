/**
 * The closed set of error codes Holdfast speaks. Every API error is an
 * `application/problem+json` body whose `code` is one of these, so clients can
 * branch on a stable string instead of parsing messages.
 */
export const errorCodes = {
  invalid_request: 400,
  invalid_content: 400,
  invalid_cursor: 400,
  hash_mismatch: 400,
  unauthorized: 401,
  /** The browser session ran past its idle or absolute lifetime: sign in again. */
  session_expired: 401,
  /** The browser session was signed out or revoked from the devices list: sign in again. */
  session_revoked: 401,
  forbidden: 403,
  /** The account is disabled by an operator; signing in again does not help. */
  account_disabled: 403,
  /** A write authenticated by the session cookie without the session's `x-csrf-token`. */
  csrf_failed: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  /** The cursor belongs to another lineage of this database (it was restored or replaced). */
  generation_changed: 409,
  /** The cursor names a sequence the server has never reached: the server lost data. */
  cursor_ahead: 409,
  /** The cursor's sequence number exists, but holds other revisions than when it was issued: the log was rolled back and written again. */
  cursor_diverged: 409,
  /**
   * The push deletes more of a collection than the server allows unconfirmed;
   * `details` names the collection and counts. Send it again with
   * `confirmMassChange: true` once the user has confirmed.
   */
  mass_change_blocked: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  /** A write past the user's storage quota (bytes or items). */
  quota_exceeded: 507,
  internal: 500,
  unavailable: 503,
  /** The write is committed on the server but no backup target confirmed it in time; retrying is safe. */
  backup_unavailable: 503,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof errorCodes;

/** The HTTP status that goes with an error code. */
export function httpStatus(code: ErrorCode): number {
  return errorCodes[code];
}

/** True if `value` is one of the known error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodes, value);
}

/**
 * The body of every error response (RFC 9457 problem details plus `code`).
 * `details` carries structured data, e.g. the server's generation on a
 * `generation_changed` error.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  details?: Record<string, unknown>;
}

/** The one error type thrown across Holdfast packages. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): number {
    return httpStatus(this.code);
  }

  /** The problem+json body for this error. */
  toProblem(): Problem {
    const problem: Problem = {
      type: `https://holdfast.dev/problems/${this.code}`,
      title: this.code.replaceAll('_', ' '),
      status: this.status,
      code: this.code,
      detail: this.message,
    };
    if (this.details) problem.details = this.details;
    return problem;
  }
}

/** A thrown value as far as `anyCause` reads it: any of these may be missing. */
export interface CauseLink {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Whether `test` holds for `error` or for one of the errors it wraps (`cause`), up to four deep. */
export function anyCause(error: unknown, test: (link: CauseLink & object) => boolean): boolean {
  let e = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    if (test(e as CauseLink & object)) return true;
    e = (e as CauseLink).cause;
  }
  return false;
}
