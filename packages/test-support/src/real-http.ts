import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildApp, type Context, closeContext, createContext, createUser, loadConfig } from '@holdfast/server';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ListeningServer {
  ctx: Context;
  app: FastifyInstance;
  dataDir: string;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** Every log line the server wrote, parsed. */
  logs: LogLine[];
  close(): Promise<void>;
}

/**
 * A SQLite-backed server listening on 127.0.0.1, port 0, logging at debug
 * into `logs`. Loopback is 127.0.0.0/8 on Linux, so clients can connect
 * from distinct addresses (see `send`'s `from`).
 */
export async function startListeningServer(
  settings: Record<string, string> = {},
  dataDir?: string,
): Promise<ListeningServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'holdfast-http-')));
  const config = loadConfig({ flags: { data: dir, 'log-level': 'debug', ...settings }, env: {} });
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const ctx = await createContext(config, pino({ level: 'debug' }, sink));
  const app = await buildApp(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    ctx,
    app,
    dataDir: dir,
    url: `http://127.0.0.1:${port}`,
    logs,
    close: async () => {
      await app.close();
      await closeContext(ctx);
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Local address to connect from, e.g. 127.0.0.2. */
  from?: string;
}

export interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a fresh TCP connection. */
export function send(url: string, options: SendOptions = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (body) headers['content-length'] = String(body.length);
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        agent: false,
        ...(options.from ? { localAddress: options.from } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function loginBody(username: string, password: string): SendOptions {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, deviceName: 'probe' }),
  };
}

export function basic(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

/** A user with a known password. */
export async function addAccount(ctx: Context, username: string): Promise<{ username: string; password: string }> {
  const password = `pw-${username}-secret`;
  await createUser(ctx, username, password);
  return { username, password };
}
