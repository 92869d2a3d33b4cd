import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApp,
  type Context,
  closeContext,
  createContext,
  createLogger,
  createUser,
  loadConfig,
} from '@holdfast/server';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase } from './postgres.js';

/** Every store and API suite runs once per engine. */
export const engines = ['sqlite', 'postgres'] as const;
export type EngineName = (typeof engines)[number];

export interface TestServer {
  ctx: Context;
  app: FastifyInstance;
  dataDir: string;
  databaseUrl: string;
  close(): Promise<void>;
}

/** A fresh database (SQLite file or new PostgreSQL database) and data dir, and the app over them. */
export async function startTestServer(engine: EngineName, settings: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-test-'));
  const pg = engine === 'postgres' ? await createTestDatabase() : undefined;
  const databaseUrl = pg?.url ?? join(dataDir, 'holdfast.db');
  const config = loadConfig({
    flags: { data: dataDir, database: databaseUrl, 'log-level': 'silent', ...settings },
    env: {},
  });
  const ctx = await createContext(config, createLogger(config));
  const app = await buildApp(ctx);
  await app.ready();
  return {
    ctx,
    app,
    dataDir,
    databaseUrl,
    close: async () => {
      await app.close();
      await closeContext(ctx);
      await pg?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestUser {
  username: string;
  password: string;
  token: string;
  userId: string;
  deviceId: string;
  auth: { authorization: string };
}

let counter = 0;

/** Creates a user and logs a device in over the API. */
export async function addUser(server: TestServer, username = `user${++counter}`): Promise<TestUser> {
  const password = `pw-${username}-secret`;
  await createUser(server.ctx, username, password);
  const response = await server.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { username, password, deviceName: 'test device' },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`);
  const body = response.json() as { token: string; userId: string; deviceId: string };
  return { username, password, ...body, auth: { authorization: `Bearer ${body.token}` } };
}

/** A realistic vCard 4.0 for a contact. */
export function vcard(uid: string, name: string, tel = '+1 555 0100', email = `${uid}@example.com`): string {
  return [
    'BEGIN:VCARD',
    'VERSION:4.0',
    `UID:${uid}`,
    `FN:${name}`,
    `N:${name.split(' ').reverse().join(';')};;;`,
    `TEL;TYPE=cell:${tel}`,
    `EMAIL;TYPE=home:${email}`,
    'ADR;TYPE=home:;;1 Main St;Springfield;;12345;USA',
    'END:VCARD',
    '',
  ].join('\r\n');
}

export function vevent(uid: string, summary: string): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Holdfast//Test//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260301T090000Z',
    'DTEND:20260301T100000Z',
    `SUMMARY:${summary}`,
    'RRULE:FREQ=WEEKLY;COUNT=4',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

export function vtodo(uid: string, summary: string): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Holdfast//Test//EN',
    'BEGIN:VTODO',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    'DUE:20260301T090000Z',
    `SUMMARY:${summary}`,
    'STATUS:NEEDS-ACTION',
    'END:VTODO',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
