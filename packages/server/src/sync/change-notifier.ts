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

export async function createPostgresNotifier(url: string, onError: (error: Error) => void): Promise<ChangeNotifier> {
  const local = createLocalNotifier();
  let client: pg.Client | undefined;
  let closed = false;

  const connect = async (): Promise<void> => {
    const { Client } = loadPg();
    const next = new Client({ connectionString: url });
    next.on('notification', (message) => {
      const [userId, seq] = (message.payload ?? '').split(' ');
      if (userId && seq) local.publishLocal(userId, Number(seq));
    });
    next.on('error', (error) => {
      onError(error);
      // Reconnect; listeners simply see no events while the connection is down.
      if (!closed) setTimeout(() => void connect().catch(onError), 1000).unref();
    });
    await next.connect();
    await next.query(`LISTEN ${NOTIFY_CHANNEL}`);
    client = next;
  };
  await connect();

  return {
    // The NOTIFY inside the writing transaction reaches this server too.
    publishLocal: () => {},
    subscribe: local.subscribe,
    subscribeAll: local.subscribeAll,
    close: async () => {
      closed = true;
      await local.close();
      await client?.end().catch(() => {});
    },
  };
}
