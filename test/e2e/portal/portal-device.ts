import { createHash } from 'node:crypto';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Person, Portal } from './portal-harness.js';

/** A feed entry, as much of it as these tests read. */
export interface FeedEntry {
  revision: number;
  entity: 'item' | 'collection';
  op: 'put' | 'delete';
  collectionId: string;
  itemId: string | null;
  content: unknown;
  blob: { sha256: string; contentType: string } | null;
}

/**
 * Another device of the same person (a phone), talking to the same server over the public API with its own
 * token: it writes what the page must show live, and reads the change feed to see what the page wrote.
 */
export interface Device {
  api<T>(path: string, init?: { method?: string; body?: unknown; raw?: Buffer }): Promise<T>;
  createCollection(type: string, name: string, id: string): Promise<void>;
  push(change: Record<string, unknown>): Promise<number>;
  putBlob(bytes: Buffer): Promise<string>;
  /** Every revision of the person's data, oldest first. */
  changes(): Promise<FeedEntry[]>;
}

export async function loginDevice(portal: Portal, person: Person): Promise<Device> {
  const login = await fetch(`${portal.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: person.username, password: person.password, deviceName: 'phone' }),
  });
  expect(login.status).toBe(200);
  const { token } = (await login.json()) as { token: string };
  const api = async <T>(path: string, init: { method?: string; body?: unknown; raw?: Buffer } = {}): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.raw) headers['content-type'] = 'application/octet-stream';
    const response = await fetch(`${portal.url}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  let changeNumber = 0;
  return {
    api,
    async createCollection(type, name, id) {
      await api('/v1/collections', { method: 'POST', body: { id, type, name } });
    },
    async push(change) {
      const answer = await api<{ results: { status: string; revision?: number }[] }>('/v1/push', {
        method: 'POST',
        body: { changes: [{ clientChangeId: `phone-${++changeNumber}`, ...change }] },
      });
      expect(answer.results[0]).toMatchObject({ status: 'applied' });
      return answer.results[0]?.revision as number;
    },
    async putBlob(bytes) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await api(`/v1/blobs/${sha256}`, { method: 'PUT', raw: bytes });
      return sha256;
    },
    async changes() {
      const entries: FeedEntry[] = [];
      let cursor: string | null = null;
      for (;;) {
        const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
        const page: { changes: FeedEntry[]; cursor: string; hasMore: boolean } = await api(`/v1/changes${query}`);
        entries.push(...page.changes);
        cursor = page.cursor;
        if (!page.hasMore) return entries;
      }
    },
  };
}

/** The item puts in the feed whose content matches, as the page wrote them. */
export async function itemPuts(device: Device, match: (content: unknown) => boolean): Promise<FeedEntry[]> {
  return (await device.changes()).filter((c) => c.entity === 'item' && c.op === 'put' && match(c.content));
}

/** No serious or critical accessibility violation on the page as it is now (axe-core). */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/**
 * Marks the loaded document, so a test can tell later that what it saw arrived live, not through a reload
 * (a reload makes a new document without the mark).
 */
export async function markDocument(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate(() => {
    (globalThis as unknown as { portalMark: boolean }).portalMark = true;
  });
  return () => page.evaluate(() => (globalThis as unknown as { portalMark?: boolean }).portalMark === true);
}

/** Local date (and time) as the page's date and datetime-local inputs take them. */
export function localInput(date: Date, withTime: boolean): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return withTime ? `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}` : day;
}

/** The same instant as iCalendar UTC date-time text. */
export function icsUtc(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
