import { AppError } from '@holdfast/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { Caller, Context } from '../../context.js';
import { isDeviceLive } from '../../store/devices.js';
import { readGenerationAndHead } from '../../store/meta.js';
import { callerOf } from '../app.js';

const HEARTBEAT_MS = 15_000;
const RETRY_AFTER_SECONDS = 30;

/**
 * Server-Sent Events: `ready` once, then `change` whenever the caller's data
 * moves. Events carry no content, only the new head, so a device pulls
 * /v1/changes from its cursor; a missed event costs latency, never data.
 *
 * A stream ends when its device is revoked or its user disabled. Revocation
 * can come from this process (the API) or another one (the CLI, another
 * server on the same database), so instead of relying on a signal the stream
 * asks the database: before every change event, and every
 * `eventStreamCheckMs` while idle. That is one indexed lookup per delivery and
 * works alike on SQLite and PostgreSQL.
 */
export function eventRoutes(ctx: Context): FastifyPluginAsync {
  const perDevice = new Map<string, number>();
  const perUser = new Map<string, number>();
  const heartbeatMs = Math.min(HEARTBEAT_MS, Math.floor(ctx.config.idleTimeoutMs / 3));

  return async (app) => {
    app.get('/v1/events', async (request, reply) => {
      const caller = callerOf(request);
      if ((perDevice.get(caller.deviceId) ?? 0) >= ctx.config.maxEventStreamsPerDevice) {
        throw new AppError('rate_limited', 'This device has too many open event streams.', {
          retryAfter: RETRY_AFTER_SECONDS,
        });
      }
      if ((perUser.get(caller.userId) ?? 0) >= ctx.config.maxEventStreamsPerUser) {
        throw new AppError('rate_limited', 'This account has too many open event streams.', {
          retryAfter: RETRY_AFTER_SECONDS,
        });
      }
      const { generation, head: at } = await readGenerationAndHead(ctx.db);
      const head = at.seq;
      // Counted from here on, with no await before the stream's close handlers are in place.
      adjust(perDevice, caller.deviceId, 1);
      adjust(perUser, caller.userId, 1);
      let stopped = false;
      let unsubscribe = () => {};
      const timers: NodeJS.Timeout[] = [];
      const stop = () => {
        if (stopped) return;
        stopped = true;
        adjust(perDevice, caller.deviceId, -1);
        adjust(perUser, caller.userId, -1);
        for (const timer of timers) clearInterval(timer);
        unsubscribe();
      };
      const end = () => {
        stop();
        reply.raw.end();
      };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      send('ready', { generation, head });
      const checkLive = async (): Promise<boolean> => {
        const live = await stillLive(ctx, caller).catch(() => true);
        if (!live) end();
        return live && !stopped;
      };
      // One delivery at a time, each after its liveness check, so heads arrive in order. Heads that arrive
      // while one is being delivered are folded into the next: only the newest matters to a device, which
      // pulls from its cursor, and a busy user's stream costs one check and one write per delivery, not per commit.
      let newest = 0;
      let delivering = false;
      const deliver = async () => {
        delivering = true;
        try {
          let sent = 0;
          while (newest > sent && !stopped && (await checkLive())) {
            sent = newest;
            send('change', { head: sent });
          }
        } finally {
          delivering = false;
        }
      };
      unsubscribe = ctx.notifier.subscribe(caller.userId, (seq) => {
        // An equal head is still sent: a server that listens again after losing its database connection wakes
        // every stream with the current head, so a device re-reads from its cursor (postgres-outage e2e test).
        if (seq < newest) return;
        newest = seq;
        if (!delivering) void deliver();
      });
      timers.push(
        setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs).unref(),
        setInterval(() => void checkLive(), ctx.config.eventStreamCheckMs).unref(),
      );
      // The response's close, not the request's: a request without a body may count as closed once read.
      res.on('close', stop);
      res.on('error', stop);
      if (res.destroyed) stop();
    });
  };
}

function adjust(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

async function stillLive(ctx: Context, caller: Caller): Promise<boolean> {
  return isDeviceLive(ctx.db, caller.deviceId);
}
