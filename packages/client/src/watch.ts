import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from './backoff.js';
import type { ClientEvents } from './client-events.js';
import { asHoldfastError, type HoldfastError } from './errors.js';
import type { Emitter } from './events.js';
import { serverEvents } from './http/event-stream.js';
import type { Transport } from './http/transport.js';
import type { SyncResult } from './sync/sync-result.js';

/** Options for `client.watch()`. */
export interface WatchOptions {
  /** Stops watching when it fires. */
  signal?: AbortSignal;
  /** Reconnect and retry delays (exponential with full jitter). */
  backoff?: BackoffOptions;
}

/** A running watch. */
export interface Watcher {
  /** Stops watching; an in-flight sync is aborted (safely: nothing is half-applied). */
  stop(): void;
  /** Settles when watching has stopped (after `stop()`, the signal, or an auth failure). */
  readonly done: Promise<void>;
}

/** What a watch needs from its client. */
export interface WatchHost {
  sync(options: { signal: AbortSignal }): Promise<SyncResult>;
  readonly online: boolean;
  readonly events: Emitter<ClientEvents>;
  readonly transport: Transport;
}

const isAuthFailure = (error: HoldfastError) => error.code === 'unauthorized' || error.code === 'not_logged_in';

function waitUntilOnline(host: WatchHost, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (host.online || signal.aborted) return resolve();
    const done = () => {
      off();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const off = host.events.on('status', ({ online }) => online && done());
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Keeps the replica current: holds the server's event stream open and pulls
 * whenever it says the account changed (and once on every connect, for what
 * happened while disconnected). Dropped connections and failed syncs are
 * retried with exponential backoff and jitter; going offline closes the
 * stream until `setOnline(true)`; an auth failure stops the watch.
 */
export function startWatch(host: WatchHost, options: WatchOptions = {}): Watcher {
  const controller = new AbortController();
  const signal = controller.signal;
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const backoff = options.backoff ?? DEFAULT_BACKOFF;

  let syncing: Promise<void> | null = null;
  let again = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const trigger = (): void => {
    if (signal.aborted) return;
    if (syncing) {
      again = true;
      return;
    }
    syncing = (async () => {
      do {
        again = false;
        try {
          await host.sync({ signal });
          failures = 0;
        } catch (error) {
          const failure = asHoldfastError(error);
          if (signal.aborted) return;
          if (isAuthFailure(failure)) {
            controller.abort();
            return;
          }
          // Back online, the stream reconnects and its `ready` event starts the next sync.
          if (failure.code === 'offline') return;
          clearTimeout(retryTimer);
          retryTimer = setTimeout(trigger, backoffDelay(failures++, backoff));
        }
      } while (again && !signal.aborted);
    })().finally(() => {
      syncing = null;
    });
  };

  const loop = async (): Promise<void> => {
    let attempt = 0;
    while (!signal.aborted) {
      if (!host.online) {
        await waitUntilOnline(host, signal);
        continue;
      }
      const connection = new AbortController();
      const stopConnection = () => connection.abort();
      signal.addEventListener('abort', stopConnection, { once: true });
      const offStatus = host.events.on('status', ({ online }) => !online && connection.abort());
      try {
        for await (const event of serverEvents(host.transport, connection.signal)) {
          attempt = 0;
          if (event.event === 'ready' || event.event === 'change') trigger();
        }
      } catch (error) {
        const failure = asHoldfastError(error);
        if (!signal.aborted && isAuthFailure(failure)) {
          host.events.emit('unauthorized', { error: failure });
          controller.abort();
        }
      } finally {
        offStatus();
        signal.removeEventListener('abort', stopConnection);
      }
      if (signal.aborted) break;
      await sleep(backoffDelay(attempt++, backoff), signal).catch(() => {});
    }
  };

  const done = loop().finally(async () => {
    clearTimeout(retryTimer);
    await syncing;
  });
  return { stop: () => controller.abort(), done };
}
