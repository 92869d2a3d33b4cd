import type { Logger } from 'pino';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { Db } from './store/database.js';
import type { ChangeNotifier } from './sync/change-notifier.js';
import type { HighWaterMark } from './sync/lineage.js';
import type { WriteReceipt } from './sync/write-receipt.js';
import type { CommitQueue } from './sync/write-transaction.js';

/** Everything a request or job needs, built once by the composition root (main.ts). */
export interface Context {
  config: Config;
  log: Logger;
  db: Db;
  blobs: BlobStore;
  notifier: ChangeNotifier;
  loginLimiter: LoginLimiter;
  /** Tracks the highest committed sequence outside the database (rollback detection). */
  highWaterMark: HighWaterMark;
  metrics: Metrics;
  /** Writes waiting to share the next commit (sync/write-transaction.ts). */
  commits: CommitQueue;
  /** Milliseconds since the epoch; injectable so tests control time. */
  now: () => number;
}

/** Who is calling: resolved from a device token by the auth hook. */
export interface Caller {
  userId: string;
  username: string;
  deviceId: string;
  /** What this request committed (sync/write-receipt.ts); set by the HTTP layer for every route. */
  receipt?: WriteReceipt | undefined;
}
