/**
 * An export or import goes through the whole account or file; it must not
 * hold the event loop while it does, or every other request waits for it.
 */

import { vcard, vevent } from '@holdfast/test-support/harness';
import {
  addAccount,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { median, probeLatency } from '../test-support/loop-probe.js';

describe('export and the event loop', () => {
  let server: ListeningServer;
  let auth: Record<string, string>;
  beforeAll(async () => {
    server = await startListeningServer();
    const account = await addAccount(server.ctx, 'exporter');
    const response = await send(`${server.url}/v1/auth/login`, loginBody(account.username, account.password));
    auth = { authorization: `Bearer ${(JSON.parse(response.body) as { token: string }).token}` };
    const upload = async (name: string, body: string) => {
      const imported = await send(`${server.url}/v1/import?name=${name}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body,
      });
      expect(imported.status).toBe(200);
    };
    const probe = probeLatency(`${server.url}/healthz`);
    await upload('people.vcf', Array.from({ length: 3000 }, (_, i) => vcard(`c${i}`, `Person ${i}`)).join(''));
    const latencies = await probe.stop();
    // The import of 3,000 cards (read, normalised, written) leaves the server answering too.
    expect(latencies.length).toBeGreaterThan(3);
    expect(median(latencies)).toBeLessThan(100);
    const events = Array.from({ length: 1500 }, (_, i) =>
      vevent(`e${i}`, `Event ${i}`).replace(/^BEGIN:VCALENDAR\r\n[\s\S]*?(?=BEGIN:VEVENT)|END:VCALENDAR\r\n$/g, ''),
    );
    await upload(
      'events.ics',
      `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`,
    );
  }, 120_000);
  afterAll(async () => server.close());

  it('answers /healthz on another connection while an export of 4,500 items runs', async () => {
    const probe = probeLatency(`${server.url}/healthz`);
    const exported = await send(`${server.url}/v1/export`, { headers: auth });
    const latencies = await probe.stop();
    expect(exported.status).toBe(200);
    expect(exported.body.length).toBeGreaterThan(100_000);
    expect(latencies.length).toBeGreaterThan(3);
    expect(median(latencies)).toBeLessThan(100);
  }, 60_000);
});
