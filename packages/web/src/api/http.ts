/**
 * The one way the portal talks to the server: same-origin JSON over the public API (docs/protocol.md), signed in by
 * the session cookie. Writes carry the CSRF token that `POST /v1/session` / `GET /v1/session` handed out.
 */

/** An API error as the server's application/problem+json names it: `code` is stable, `detail` is for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly body: unknown,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;

/** Set from the session answer; sent as `x-csrf-token` on every write. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export interface ApiInit extends Omit<RequestInit, 'body'> {
  /** Sent as JSON unless it is already a body the browser sends as it is (FormData, Blob, ArrayBuffer, stream). */
  body?: unknown;
}

function isRawBody(body: unknown): body is BodyInit {
  return (
    body instanceof FormData ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof ReadableStream ||
    body instanceof URLSearchParams
  );
}

/** The raw Response for a request to the API; throws ApiError for any answer that is not 2xx. */
export async function apiResponse(path: string, init: ApiInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const method = (init.method ?? 'GET').toUpperCase();
  let body: BodyInit | undefined;
  if (init.body !== undefined) {
    if (isRawBody(init.body)) body = init.body;
    else {
      body = JSON.stringify(init.body);
      headers.set('content-type', 'application/json');
    }
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers.set('x-csrf-token', csrfToken);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  const response = await fetch(path, { ...init, method, headers, body, credentials: 'same-origin' });
  if (response.ok) return response;
  let problem: unknown = null;
  try {
    problem = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const p = (problem ?? {}) as { code?: string; detail?: string; title?: string };
  throw new ApiError(
    response.status,
    p.code ?? `http_${response.status}`,
    p.detail ?? p.title ?? `The server answered ${response.status}.`,
    problem,
  );
}

/** JSON from the API; `undefined` for 204. */
export async function apiFetch<T>(path: string, init: ApiInit = {}): Promise<T> {
  const response = await apiResponse(path, init);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
