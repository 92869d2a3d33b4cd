import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChild } from './lazy-logger.js';

function capture(level: string): { log: FastifyBaseLogger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level }, sink);
  let made = 0;
  const child = log.child.bind(log);
  // Counts the real children made, so the test sees whether one was made at all.
  log.child = ((...args: Parameters<typeof child>) => {
    made++;
    return child(...args);
  }) as typeof log.child;
  return { log: log as unknown as FastifyBaseLogger, lines, children: () => made };
}

describe('lazyChild', () => {
  it('makes no child while nothing is logged at an enabled level', () => {
    const { log, lines, children } = capture('warn');
    const request = lazyChild(log, { reqId: 'req-1' }).child({ userId: 'u1' });
    request.debug({ status: 200 }, 'request');
    request.info('hello');
    expect(children()).toBe(0);
    expect(lines).toEqual([]);
    expect(request.level).toBe('warn');
    expect((request as unknown as { isLevelEnabled(level: string): boolean }).isLevelEnabled('info')).toBe(false);
  });

  it('writes enabled lines with every binding, like an eager child', () => {
    const { log, lines, children } = capture('info');
    const request = lazyChild(log, { reqId: 'req-2' }).child({ userId: 'u2', deviceId: 'd2' });
    request.debug('not written');
    request.warn({ code: 'x' }, 'held');
    request.info('again');
    expect(children()).toBe(1);
    expect(lines.map((line) => [line.reqId, line.userId, line.deviceId, line.msg, line.code])).toEqual([
      ['req-2', 'u2', 'd2', 'held', 'x'],
      ['req-2', 'u2', 'd2', 'again', undefined],
    ]);
  });

  it('makes a child at once for a route with its own level', () => {
    const { log, lines } = capture('warn');
    const request = lazyChild(log, { reqId: 'req-3' }, { level: 'debug' });
    request.debug('route debug');
    expect(lines.map((line) => [line.reqId, line.msg])).toEqual([['req-3', 'route debug']]);
  });

  it('keeps the bindings of every child in a chain, in order', () => {
    const { log, lines, children } = capture('info');
    const request = lazyChild(log, { reqId: 'req-4' }).child({ userId: 'u4' }).child({ deviceId: 'd4' });
    request.info('chained');
    expect(children()).toBe(1);
    expect(Object.keys(lines[0] ?? {}).filter((key) => ['reqId', 'userId', 'deviceId'].includes(key))).toEqual([
      'reqId',
      'userId',
      'deviceId',
    ]);
    expect(lines.map((line) => [line.reqId, line.userId, line.deviceId, line.msg])).toEqual([
      ['req-4', 'u4', 'd4', 'chained'],
    ]);
  });
});
