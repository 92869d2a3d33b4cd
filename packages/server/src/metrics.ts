import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { passwordVerifications } from './auth/passwords.js';

/**
 * The server's Prometheus registry. Metrics carry counts, sizes and timings,
 * never user data or ids, so /metrics can be scraped without authentication.
 */
export interface Metrics {
  registry: Registry;
  httpRequests: Histogram<'method' | 'route' | 'status'>;
  pushedChanges: Counter<'status'>;
  /** Thumbnail requests by how they were answered: `made` by sharp, or `cached`. */
  thumbnails: Counter<'result'>;
  logHead: Gauge;
  /** 1 while writes are acknowledged without their backup targets (backup/ack-gate.ts). */
  backupAckDegraded: Gauge;
  /** The highest seq held by the backup targets that acknowledgements wait for. */
  backupWatermark: Gauge;
  /** DAV sign-ins by how the credential cache answered: hit, miss, or stale (re-checked and dropped). */
  davCredentialCache: Counter<'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'holdfast_process_' });
  registerPasswordCounter(registry);
  return {
    registry,
    httpRequests: new Histogram({
      name: 'holdfast_http_request_duration_seconds',
      help: 'HTTP request duration by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    pushedChanges: new Counter({
      name: 'holdfast_push_changes_total',
      help: 'Pushed changes by result (applied, conflict, rejected).',
      labelNames: ['status'],
      registers: [registry],
    }),
    thumbnails: new Counter({
      name: 'holdfast_thumbnails_total',
      help: 'Thumbnails served, by whether they were made for the request (made) or read from the cache (cached).',
      labelNames: ['result'],
      registers: [registry],
    }),
    logHead: new Gauge({
      name: 'holdfast_log_head_sequence',
      help: 'The last sequence number this server committed or saw at start.',
      registers: [registry],
    }),
    backupAckDegraded: new Gauge({
      name: 'holdfast_backup_ack_degraded',
      help: '1 while writes are acknowledged (or refused) without reaching their backup targets in time.',
      registers: [registry],
    }),
    backupWatermark: new Gauge({
      name: 'holdfast_backup_durable_sequence',
      help: 'The highest sequence held by as many backup targets as acknowledgements wait for.',
      registers: [registry],
    }),
    davCredentialCache: new Counter({
      name: 'holdfast_dav_credential_cache_total',
      help: 'DAV sign-ins by credential cache result: hit (no argon2), miss, stale (changed since verified).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

/** Argon2 runs, read from the auth module when scraped (it counts in every code path, with or without a context). */
function registerPasswordCounter(registry: Registry): void {
  new Counter({
    name: 'holdfast_password_verifications_total',
    help: 'Argon2 password verifications, including the dummy ones that keep failed sign-ins constant-time.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(passwordVerifications());
    },
  });
}
