import type { TargetHealth } from '../backup/target-loop.js';
import type { Context } from '../context.js';
import { readHead } from '../store/revision-log.js';

/** One line of a readiness report. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** A blob id no one stores: asking for it proves the store answers without touching real data. */
const PROBE_BLOB = '0'.repeat(64);

async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probe(name: string, ms: number, work: () => Promise<string>): Promise<ReadinessCheck> {
  try {
    return { name, ok: true, detail: await within(ms, name, work) };
  } catch (error) {
    return { name, ok: false, detail: (error as Error).message };
  }
}

/**
 * Whether this server should receive traffic: its database and blob store
 * answer, and every backup target it ships to is within its lag bound (a
 * server whose writes are not being backed up is not fit to accept more).
 * Target locations are left out: the endpoint needs no token.
 */
export async function checkReadiness(ctx: Context, backupHealth: () => TargetHealth[]): Promise<Readiness> {
  const ms = ctx.config.readyTimeoutMs;
  const checks = await Promise.all([
    probe('database', ms, async () => `head revision ${await readHead(ctx.db)}`),
    probe('blobs', ms, async () => {
      await ctx.blobs.stat(PROBE_BLOB);
      return `${ctx.blobs.kind} store answers`;
    }),
  ]);
  const bound = ctx.config.backupLagAlertSeconds;
  for (const target of backupHealth()) {
    const lag = `${target.lagRevisions} revisions, ${Math.round(target.lagSeconds)} s behind (bound ${bound} s)`;
    const down = target.outage ? `; failing since ${new Date(target.outage.since).toISOString()}` : '';
    checks.push({ name: `backup target ${target.index + 1}`, ok: target.lagSeconds <= bound, detail: lag + down });
  }
  return { ready: checks.every((check) => check.ok), checks };
}
