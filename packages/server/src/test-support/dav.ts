import { addUser, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { createAppPassword } from '../auth/accounts.js';
import { childOf, childrenOf, parseXml, type XmlElement } from '../dav/xml-parse.js';
import { DAV } from '../dav/xml-write.js';

export interface DavUser extends TestUser {
  appPassword: string;
  appPasswordId: string;
  basic: { authorization: string };
}

/** A user with a device token (JSON API) and an app password (DAV). */
export async function addDavUser(server: TestServer, username?: string): Promise<DavUser> {
  const user = await addUser(server, username);
  const app = await createAppPassword(server.ctx, user.username, 'dav client');
  const basic = `Basic ${Buffer.from(`${user.username}:${app.password}`).toString('base64')}`;
  return { ...user, appPassword: app.password, appPasswordId: app.id, basic: { authorization: basic } };
}

export interface DavRequest {
  body?: string | Buffer;
  headers?: Record<string, string>;
  depth?: '0' | '1' | 'infinity';
  contentType?: string;
}

export type DavCall = (
  method: string,
  url: string,
  request?: DavRequest,
) => Promise<{
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  rawPayload: Buffer;
}>;

export function davClient(server: TestServer, user: { basic: { authorization: string } }): DavCall {
  return async (method, url, request = {}) => {
    const headers: Record<string, string> = { ...user.basic, ...request.headers };
    if (request.depth) headers.depth = request.depth;
    if (request.body !== undefined) {
      headers['content-type'] =
        request.contentType ??
        (typeof request.body === 'string' && request.body.startsWith('<')
          ? 'application/xml; charset=utf-8'
          : 'text/plain');
    }
    const response = await server.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(request.body === undefined ? {} : { payload: request.body }),
    });
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      body: response.body,
      rawPayload: response.rawPayload,
    };
  };
}

export interface ParsedResponse {
  href: string;
  status: number | null;
  /** Property elements by `status`, keyed by local name (tests use unique local names). */
  props: Map<number, Map<string, XmlElement>>;
  error: XmlElement | undefined;
}

function statusCode(text: string | undefined): number | null {
  const match = /HTTP\/1\.1 (\d{3})/.exec(text ?? '');
  return match ? Number(match[1]) : null;
}

/** Reads a 207 body into responses; also returns the sync-token if present. */
export function parseMultistatus(body: string): { responses: ParsedResponse[]; syncToken: string | undefined } {
  const root = parseXml(Buffer.from(body, 'utf8'));
  if (root.ns !== DAV || root.name !== 'multistatus') throw new Error(`not a multistatus: ${body.slice(0, 200)}`);
  const responses = childrenOf(root, DAV, 'response').map((response) => {
    const props = new Map<number, Map<string, XmlElement>>();
    for (const propstat of childrenOf(response, DAV, 'propstat')) {
      const status = statusCode(childOf(propstat, DAV, 'status')?.text) ?? 0;
      const map = props.get(status) ?? new Map<string, XmlElement>();
      for (const prop of childOf(propstat, DAV, 'prop')?.children ?? []) map.set(prop.name, prop);
      props.set(status, map);
    }
    return {
      href: childOf(response, DAV, 'href')?.text.trim() ?? '',
      status: statusCode(childOf(response, DAV, 'status')?.text),
      props,
      error: childOf(response, DAV, 'error'),
    };
  });
  return { responses, syncToken: childOf(root, DAV, 'sync-token')?.text.trim() };
}

/** The 200 value of a property of one response. */
export function prop(response: ParsedResponse | undefined, name: string): XmlElement | undefined {
  return response?.props.get(200)?.get(name);
}

export function hrefText(element: XmlElement | undefined): string | undefined {
  return element ? childOf(element, DAV, 'href')?.text.trim() : undefined;
}

export const propfindBody = (props: string) =>
  `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cal="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:ical="http://apple.com/ns/ical/"><d:prop>${props}</d:prop></d:propfind>`;

export const NS_ATTRS =
  'xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cal="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:ical="http://apple.com/ns/ical/"';
