import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { loadPg } from '../store/load-pg.js';

/**
 * Tells live listeners (Server-Sent Events) that a user's log moved. With
 * PostgreSQL every server LISTENs on one channel and the writer NOTIFYs inside
 * its transaction, so PostgreSQL delivers the event only if the write commits,
 * and to every server sharing the database.
 */
export interface ChangeNotifier {
  /** Called after a commit on SQLite; on PostgreSQL the NOTIFY in the transaction does this. */
  publishLocal(userId: string, seq: number): void;
  subscribe(userId: string, listener: (seq: number) => void): () => void;
  /** Every user's commits: continuous backup ships as soon as something commits. */
  subscribeAll(listener: (seq: number) => void): () => void;
  close(): Promise<void>;
}

export const NOTIFY_CHANNEL = 'holdfast_changes';

const ANY_USER = Symbol('any user');

export function createLocalNotifier(): ChangeNotifier {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publishLocal: (userId, seq) => {
      emitter.emit(userId, seq);
      emitter.emit(ANY_USER, seq);
    },
    subscribe(userId, listener) {
      emitter.on(userId, listener);
      return () => emitter.off(userId, listener);
    },
    subscribeAll(listener) {
      emitter.on(ANY_USER, listener);
      return () => emitter.off(ANY_USER, listener);
    },
    close: async () => {
      emitter.removeAllListeners();
    },
  };
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * LISTENs on its own connection and keeps doing so: after any failure (the
 * connection dropped, a reconnect refused while PostgreSQL is down) it
 * retries with capped exponential backoff until closed. NOTIFYs sent while
 * it was not listening are lost, so after each reconnect every listener
 * hears the current head and re-reads from its own cursor: nothing is missed.
 */
export async function createPostgresNotifier(url: string, onError: (error: Error) => void): Promise<ChangeNotifier> {
  const local = createLocalNotifier();
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const scheduleRetry = () => {
    if (closed || retry) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures, 16));
    failures++;
    retry = setTimeout(() => {
      retry = undefined;
      void connect(true);
    }, delay);
    retry.unref();
  };

  const connect = async (reconnecting: boolean): Promise<void> => {
    const { Client } = loadPg();
    const next = new Client({ connectionString: url });
    let lost = false;
    const onLost = (error?: Error) => {
      if (error) onError(error);
      if (lost) return;
      lost = true;
      if (client === next) client = undefined;
      next.end().catch(() => {});
      scheduleRetry();
    };
    next.on('notification', (message) => {
      const [userId, seq] = (message.payload ?? '').split(' ');
      if (userId && seq) local.publishLocal(userId, Number(seq));
    });
    next.on('error', (error) => onLost(error));
    next.on('end', () => onLost());
    try {
      await next.connect();
      await next.query(`LISTEN ${NOTIFY_CHANNEL}`);
      // Read after LISTEN on the same connection: a commit is either in this head or notified from now on.
      const head = reconnecting ? await readLogHead(next) : undefined;
      if (closed || lost) {
        await next.end().catch(() => {});
        return;
      }
      client = next;
      failures = 0;
      if (head !== undefined) wakeEveryone(head);
    } catch (error) {
      if (!reconnecting) {
        closed = true;
        await next.end().catch(() => {});
        throw error;
      }
      onLost(error as Error);
    }
  };

  // Every subscriber hears the head, whether or not its user moved: a listener that finds nothing new loses nothing.
  const wakeEveryone = (head: number) => {
    for (const name of emitter.eventNames()) emitter.emit(name, head);
  };

  await connect(false);

  return {
    // The NOTIFY inside the writing transaction reaches this server too.
    publishLocal: () => {},
    subscribe(userId, listener) {
      const off = local.subscribe(userId, listener);
      emitter.on(userId, listener);
      return () => {
        off();
        emitter.off(userId, listener);
      };
    },
    subscribeAll(listener) {
      const off = local.subscribeAll(listener);
      emitter.on(ANY_USER, listener);
      return () => {
        off();
        emitter.off(ANY_USER, listener);
      };
    },
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      emitter.removeAllListeners();
      await local.close();
      await client?.end().catch(() => {});
    },
  };
}

async function readLogHead(client: pg.Client): Promise<number> {
  const result = await client.query<{ last_seq: string | number }>('SELECT last_seq FROM log_head WHERE id = 1');
  return Number(result.rows[0]?.last_seq ?? 0);
}
