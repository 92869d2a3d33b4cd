/**
 * The duplicate finder over real HTTP: names of any length are compared in
 * linear time, and a scan of a large address book leaves the server
 * answering other requests.
 */

import {
  addAccount,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { median, probeLatency } from '../test-support/loop-probe.js';
import { oneEditApart } from './duplicates.js';

const card = (uid: string, given: string, family: string, tel: string) =>
  `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${uid}\r\nFN:${given} ${family}\r\nN:${family};${given};;;\r\nTEL:${tel}\r\nEND:VCARD\r\n`;

it('oneEditApart finds exactly one insertion, deletion or substitution', () => {
  expect(oneEditApart('jon', 'john')).toBe(true);
  expect(oneEditApart('john', 'jon')).toBe(true);
  expect(oneEditApart('john', 'joan')).toBe(true);
  expect(oneEditApart('john', 'johnx')).toBe(true);
  expect(oneEditApart('xjohn', 'john')).toBe(true);
  expect(oneEditApart('john', 'john')).toBe(false);
  expect(oneEditApart('john', 'jhon')).toBe(false);
  expect(oneEditApart('john', 'jo')).toBe(false);
  expect(oneEditApart('abcd', 'xbcy')).toBe(false);
});

describe('duplicate finder under load', () => {
  let server: ListeningServer;
  let auth: Record<string, string>;
  beforeAll(async () => {
    server = await startListeningServer();
    const account = await addAccount(server.ctx, 'many');
    const response = await send(`${server.url}/v1/auth/login`, loginBody(account.username, account.password));
    auth = { authorization: `Bearer ${(JSON.parse(response.body) as { token: string }).token}` };
  });
  afterAll(async () => server.close());

  const importCards = async (text: string) => {
    const response = await send(`${server.url}/v1/import?name=cards.vcf`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/vcard' },
      body: text,
    });
    expect(response.status).toBe(200);
  };

  it('compares names of 16,000 letters in linear time', async () => {
    const long = 'a'.repeat(16_000);
    await importCards(
      `${card('long-1', long, 'Longname', '+1 555 0101')}${card('long-2', `${long}b`, 'Longname', '+1 555 0102')}`,
    );
    const started = performance.now();
    const response = await send(`${server.url}/v1/contacts/duplicates`, { headers: auth });
    const took = performance.now() - started;
    expect(response.status).toBe(200);
    const groups = JSON.parse(response.body).groups as { reasons: string[] }[];
    expect(groups.some((g) => g.reasons.some((r) => r.startsWith('similar names')))).toBe(true);
    // A full edit distance over these names takes seconds.
    expect(took).toBeLessThan(500);
  });

  it('keeps answering /healthz while it scans 10,000 contacts', async () => {
    const cards: string[] = [];
    // Distinct people (given names at least two letters apart), a hundred to a family name, and a few duplicates.
    for (let i = 0; i < 10_000; i++) {
      const tel = `+1 555 ${String(i % 9_990).padStart(6, '0')}`;
      cards.push(card(`c${i}`, `G${i}x${i}`, `Family${Math.floor(i / 100)}`, tel));
    }
    await importCards(cards.join(''));
    const probe = probeLatency(`${server.url}/healthz`);
    const response = await send(`${server.url}/v1/contacts/duplicates`, { headers: auth });
    const latencies = await probe.stop();
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).groups.length).toBeGreaterThanOrEqual(10);
    expect(latencies.length).toBeGreaterThan(3);
    expect(median(latencies)).toBeLessThan(100);
    expect(Math.max(...latencies)).toBeLessThan(250);
  }, 60_000);
});
