import type { Person, Portal } from './portal-harness.js';

/** A phone or laptop of the same person, talking to the API with a device token, as the portal tests' other device. */
export interface Device {
  call<T>(path: string, body?: unknown): Promise<T>;
  /** Pushes one change per entry and returns the new revisions; throws unless every change applied. */
  push(changes: DeviceChange[]): Promise<number[]>;
}

export interface DeviceChange {
  collectionId: string;
  itemId: string;
  op: 'put' | 'delete';
  baseRevision: number | null;
  content?: unknown;
}

let counter = 0;

export async function deviceOf(portal: Portal, person: Person, name = 'phone'): Promise<Device> {
  const login = await fetch(`${portal.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: person.username, password: person.password, deviceName: name }),
  });
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${portal.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    call,
    async push(changes) {
      const { results } = await call<{ results: { status: string; revision?: number; message?: string }[] }>(
        '/v1/push',
        { changes: changes.map((change) => ({ clientChangeId: `${name}-${++counter}`, ...change })) },
      );
      const failed = results.find((r) => r.status !== 'applied');
      if (failed) throw new Error(`push: ${JSON.stringify(failed)}`);
      return results.map((r) => r.revision ?? 0);
    },
  };
}

/** A vCard 4.0 with a name and a phone number, and any further lines. */
export const card = (uid: string, name: string, tel: string, extra = '') =>
  `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${uid}\r\nFN:${name}\r\nTEL;TYPE=cell:${tel}\r\n${extra}END:VCARD\r\n`;
