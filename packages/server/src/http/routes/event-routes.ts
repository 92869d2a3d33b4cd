import type { FastifyPluginAsync } from 'fastify';
import type { Context } from '../../context.js';
import { readGeneration } from '../../store/meta.js';
import { readHead } from '../../store/revision-log.js';
import { callerOf } from '../app.js';

const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events: `ready` once, then `change` whenever the caller's data
 * moves. Events carry no content, only the new head, so a device pulls
 * /v1/changes from its cursor; a missed event costs latency, never data.
 */
export function eventRoutes(ctx: Context): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/events', async (request, reply) => {
      const caller = callerOf(request);
      const generation = await readGeneration(ctx.db);
      const head = await readHead(ctx.db);
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
      const unsubscribe = ctx.notifier.subscribe(caller.userId, (seq) => send('change', { head: seq }));
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      const stop = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      request.raw.on('close', stop);
      res.on('error', stop);
    });
  };
}
