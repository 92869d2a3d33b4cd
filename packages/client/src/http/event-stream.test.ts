import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEventStream, type ServerEvent, serverEvents } from './event-stream.js';
import type { Transport } from './transport.js';

async function collect(chunks: (string | Uint8Array)[]): Promise<ServerEvent[]> {
  async function* source() {
    for (const chunk of chunks) yield typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
  }
  const out: ServerEvent[] = [];
  for await (const event of parseEventStream(source())) out.push(event);
  return out;
}

const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * A stream cut at every awkward place: between the CR and LF of one line end,
 * inside a field name, inside a multi-byte character, around comments, `id`
 * and `retry` fields and a blank line made of a lone CR.
 */
const snowman = bytes('data: \u2603 caf\u00e9\r\n');
const awkward: Uint8Array[] = [
  bytes(': hello\r'),
  bytes('\nevent: ready\r'),
  bytes('\ndata: {"head":1}\r'),
  bytes('\n\r'),
  bytes('\nev'),
  bytes('ent: change\r'),
  bytes('\nretry: 3000\r'),
  bytes('\nid: 7\r\nda'),
  bytes('ta: a\r'),
  bytes('\ndata: b\r'),
  bytes('\n: keep-alive\r'),
  bytes('\n\r'),
  bytes('\nevent: change\r'),
  snowman.slice(0, 7),
  snowman.slice(7, 9),
  snowman.slice(9),
  bytes('data:\r'),
  bytes('\n\r\n'),
  bytes('event: change\rdata: lone-cr\r\r'),
  bytes('event: change\ndata: cut'),
];
const awkwardEvents: ServerEvent[] = [
  { event: 'ready', data: '{"head":1}' },
  { event: 'change', data: 'a\nb' },
  { event: 'change', data: '\u2603 caf\u00e9\n' },
  { event: 'change', data: 'lone-cr' },
];

describe('parseEventStream', () => {
  it('reads events split anywhere across chunks, skipping comments', async () => {
    const text = 'event: ready\ndata: {"head":1}\n\n: keep-alive\n\nevent: change\ndata: {"head":2}\n\n';
    const expected = [
      { event: 'ready', data: '{"head":1}' },
      { event: 'change', data: '{"head":2}' },
    ];
    expect(await collect([text])).toEqual(expected);
    expect(await collect(text.split(''))).toEqual(expected);
  });

  it('accepts CRLF line ends and multi-line data, and drops an unfinished event', async () => {
    expect(await collect(['data: a\r\ndata: b\r\n\r\nevent: change\r\ndata: cut'])).toEqual([
      { event: 'message', data: 'a\nb' },
    ]);
  });

  it('reads one CRLF line end split between two chunks as one line end', async () => {
    expect(await collect(['event: change\r', '\ndata: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([
      { event: 'change', data: 'a\nb' },
    ]);
    expect(await collect(awkward)).toEqual(awkwardEvents);
  });
});

describe('serverEvents over HTTP', () => {
  let server: Server | undefined;
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it('delivers the events of a stream written in awkwardly cut pieces', async () => {
    server = createServer(async (_req, res) => {
      res.socket?.setNoDelay(true);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      // Pauses make each piece arrive on its own, as a slow proxy would deliver it.
      for (const piece of awkward) {
        res.write(piece);
        await delay(15);
      }
      res.end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const transport: Transport = {
      fetch: globalThis.fetch,
      serverUrl: `http://127.0.0.1:${port}`,
      token: () => 'device-token',
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    };
    const got: ServerEvent[] = [];
    for await (const event of serverEvents(transport, new AbortController().signal)) got.push(event);
    expect(got).toEqual(awkwardEvents);
  });
});
