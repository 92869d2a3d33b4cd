import { type ErrorCode, isErrorCode } from '@holdfast/protocol';

/**
 * Failures the device itself names, next to the server's problem codes:
 * - `network`: the request never got an HTTP answer (offline, DNS, reset).
 * - `redirect`: the server answered with a redirect; a captive portal or a
 *   misconfigured proxy, never a valid Holdfast answer.
 * - `unexpected_response`: an answer that is not the JSON the protocol
 *   promises (an HTML page, truncated or malformed JSON, a wrong shape).
 * - `aborted`: the caller's AbortSignal fired.
 * - `offline`: the client was told it is offline (`setOnline(false)`).
 * - `not_logged_in`: the replica holds no device token.
 */
export type ClientErrorCode = 'network' | 'redirect' | 'unexpected_response' | 'aborted' | 'offline' | 'not_logged_in';

/** Every code a `HoldfastError` can carry. */
export type HoldfastErrorCode = ErrorCode | ClientErrorCode;

const RETRYABLE: ReadonlySet<HoldfastErrorCode> = new Set([
  'network',
  'internal',
  'unavailable',
  'backup_unavailable',
  'rate_limited',
]);

/**
 * The one error type the SDK throws. A failed request is always one of
 * these, never an empty result: callers branch on `code`.
 */
export class HoldfastError extends Error {
  override readonly name = 'HoldfastError';

  constructor(
    /** A server problem code, or one of the client's own codes. */
    readonly code: HoldfastErrorCode,
    message: string,
    /** The HTTP status, when there was a response. */
    readonly status: number | null = null,
    /** Structured data from the problem body (e.g. the server's generation), if any. */
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when trying again later may succeed (network trouble, 5xx, rate limiting, HTML error pages from proxies). */
  get retryable(): boolean {
    if (RETRYABLE.has(this.code)) return true;
    return this.code === 'unexpected_response' && this.status !== null && this.status >= 500;
  }
}

/** The problem code that goes with an HTTP status when the body did not name one. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 502 || status === 504) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'invalid_request';
}

/** Reads a problem code from an untrusted body field; unknown codes fall back to the status's code. */
export function problemCode(value: unknown, status: number): ErrorCode {
  return isErrorCode(value) ? value : codeForStatus(status);
}

/** Wraps anything thrown while talking to the server into a HoldfastError. */
export function asHoldfastError(error: unknown): HoldfastError {
  if (error instanceof HoldfastError) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new HoldfastError('aborted', 'The operation was aborted.', null, undefined, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HoldfastError('network', `Could not reach the server: ${message}`, null, undefined, { cause: error });
}

/** Throws `aborted` if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new HoldfastError('aborted', 'The operation was aborted.', null, undefined, { cause: signal.reason });
}
