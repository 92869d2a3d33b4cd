import { type RetryOptions, withRetry } from '../backoff.js';
import { asHoldfastError, codeForStatus, HoldfastError, problemCode } from '../errors.js';

/** Anything with zod's `safeParse` (the protocol's schemas). */
export interface ResponseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

/** How the SDK reaches one server. */
export interface Transport {
  fetch: typeof globalThis.fetch;
  serverUrl: string;
  /** The device token, read fresh for every request. */
  token: () => string | null;
  retry: Omit<RetryOptions, 'signal'>;
}

/** One request's options. */
export interface RequestOptions<T> {
  body?: unknown;
  /** Validates a JSON answer; omit for routes that answer 204. */
  schema?: ResponseSchema<T>;
  signal?: AbortSignal | undefined;
  /** Send no token (login). */
  anonymous?: boolean;
  /** Retry transient failures (default true); only for requests safe to repeat. */
  retry?: boolean;
}

function urlOf(transport: Transport, path: string): string {
  return new URL(path, transport.serverUrl.endsWith('/') ? transport.serverUrl : `${transport.serverUrl}/`).toString();
}

/**
 * Sends one request and returns the validated JSON answer. Redirects are not
 * followed (`redirect: 'manual'`): a Holdfast server never redirects an API
 * call, so a redirect means a portal or proxy is answering, and is an error.
 * So is anything that is not the JSON the protocol promises. Nothing here
 * ever turns a failure into an empty result.
 */
export async function request<T>(
  transport: Transport,
  method: string,
  path: string,
  options: RequestOptions<T> = {},
): Promise<T> {
  const attempt = () => send(transport, method, path, options);
  if (options.retry === false) return attempt();
  return withRetry(attempt, { ...transport.retry, ...(options.signal ? { signal: options.signal } : {}) });
}

async function send<T>(transport: Transport, method: string, path: string, options: RequestOptions<T>): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = options.anonymous ? null : transport.token();
  if (!options.anonymous) {
    if (!token) throw new HoldfastError('not_logged_in', 'This replica has no device token; log in first.');
    headers.authorization = `Bearer ${token}`;
  }
  let body: string | Uint8Array | undefined;
  if (options.body instanceof Uint8Array) {
    body = options.body;
    headers['content-type'] = 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await open(transport, method, path, { headers, body, signal: options.signal });
  const text = await readText(response, options.signal);
  if (response.status === 204 || (!options.schema && text === '')) return undefined as T;
  const value = parseJson(response, text, path);
  if (!options.schema) return value as T;
  const parsed = options.schema.safeParse(value);
  if (!parsed.success) {
    throw new HoldfastError(
      'unexpected_response',
      `${method} ${path} answered JSON of the wrong shape: ${parsed.error.message.slice(0, 300)}`,
      response.status,
    );
  }
  return parsed.data;
}

/**
 * Performs the fetch and turns every non-2xx answer into a HoldfastError:
 * problem+json bodies keep their code; HTML pages, redirects and other bodies
 * get the code that goes with the status.
 */
export async function open(
  transport: Transport,
  method: string,
  path: string,
  init: { headers: Record<string, string>; body?: string | Uint8Array | undefined; signal?: AbortSignal | undefined },
): Promise<Response> {
  let response: Response;
  try {
    response = await transport.fetch(urlOf(transport, path), {
      method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      redirect: 'manual',
      ...(init.signal ? { signal: init.signal } : {}),
    });
  } catch (error) {
    throw asHoldfastError(error);
  }
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
    await response.body?.cancel().catch(() => {});
    const location = response.headers.get('location');
    throw new HoldfastError(
      'redirect',
      `${method} ${path} was redirected${location ? ` to ${location}` : ''}; Holdfast servers never redirect API calls.`,
      response.status || null,
      location ? { location } : undefined,
    );
  }
  if (response.status >= 200 && response.status < 300) return response;
  const text = await readText(response, init.signal).catch(() => '');
  throw problemError(method, path, response, text);
}

function problemError(method: string, path: string, response: Response, text: string): HoldfastError {
  const status = response.status;
  const type = response.headers.get('content-type') ?? '';
  if (/json/i.test(type)) {
    try {
      const problem = JSON.parse(text) as Record<string, unknown>;
      if (problem && typeof problem === 'object' && typeof problem.code === 'string') {
        const details =
          problem.details && typeof problem.details === 'object' ? (problem.details as Record<string, unknown>) : {};
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0 && details.retryAfter === undefined) {
          details.retryAfter = retryAfter;
        }
        const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`;
        return new HoldfastError(problemCode(problem.code, status), detail, status, details);
      }
    } catch {
      // Not a problem body after all; described below.
    }
  }
  return new HoldfastError(
    codeForStatus(status),
    `${method} ${path} failed with HTTP ${status} and a ${type || 'untyped'} body, not a Holdfast problem: ${snippet(text)}`,
    status,
  );
}

async function readText(response: Response, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    if (signal?.aborted) throw asHoldfastError(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    throw asHoldfastError(error);
  }
}

function parseJson(response: Response, text: string, path: string): unknown {
  const type = response.headers.get('content-type') ?? '';
  if (!/^application\/(problem\+)?json\b/i.test(type)) {
    throw new HoldfastError(
      'unexpected_response',
      `${path} answered ${type || 'with no content type'} instead of JSON: ${snippet(text)}`,
      response.status,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HoldfastError(
      'unexpected_response',
      `${path} answered malformed JSON: ${snippet(text)}`,
      response.status,
    );
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat || '(empty)';
}
