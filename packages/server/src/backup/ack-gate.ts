import { AppError } from '@holdfast/protocol';
import type { Context } from '../context.js';
import { recordIncident } from '../ledger/ledger.js';

/** How far an acknowledged write got: on backup targets, or on this server only. */
export type Durability = 'target' | 'local';

interface Waiter {
  seq: number;
  /** Waits for an account state (the epoch in `seq`) instead of a revision. */
  accounts: boolean;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * "Acknowledged means safe": the durable watermark of every target (the
 * highest seq known to be on it) and the writes waiting for theirs to pass.
 * Waiters are released by the shipping loops as segments land, so every
 * request whose seq a segment covers is answered by that one shipment.
 */
export interface AckGate {
  ctx: Context;
  /** Highest seq known on each target, by target index; -1 until its repository was read. */
  watermarks: number[];
  /** How many targets must hold a write (`backupAckTargets`, at most the number of targets). */
  required: number;
  waiters: Set<Waiter>;
  /**
   * Account changes (logins, app passwords, revocations, password and
   * account settings) this process has made: each one, once committed, takes
   * the next number. The account tables travel as whole account states, not
   * as revisions, so their acknowledgement counts these instead of seqs.
   */
  accountEpoch: number;
  /** Highest account epoch whose changes each target's newest account state holds, by target index. */
  accountWatermarks: number[];
  /**
   * An open degradation episode: a write timed out waiting for its targets.
   * While open, writes are answered at once with `backupAckOnTimeout`; it
   * closes when the targets hold the seq (and account epoch) that opened it.
   */
  degraded: { since: number; seq: number; accountEpoch: number } | null;
  closed: boolean;
  /** Called when a write starts waiting: the shipping loops start a pass now if none is running. */
  onWait: () => void;
}

const gates = new WeakMap<Context, AckGate>();

/** Creates the gate of a server with `targets` backup targets and makes it the one `awaitDurability` uses. */
export function attachAckGate(ctx: Context, targets: number): AckGate {
  const required = Math.min(ctx.config.backupAckTargets, targets);
  if (required < ctx.config.backupAckTargets) {
    ctx.log.warn(
      { backupAckTargets: ctx.config.backupAckTargets, targets },
      'backupAckTargets is more than the targets configured; writes wait for all of them',
    );
  }
  const gate: AckGate = {
    ctx,
    watermarks: Array.from({ length: targets }, () => -1),
    required,
    waiters: new Set(),
    accountEpoch: 0,
    accountWatermarks: Array.from({ length: targets }, () => 0),
    degraded: null,
    closed: false,
    onWait: () => {},
  };
  ctx.metrics.backupAckDegraded.set(0);
  gates.set(ctx, gate);
  return gate;
}

/** Stops the gate: pending writes are answered as if their targets timed out, without an incident. */
export function closeAckGate(gate: AckGate): void {
  gate.closed = true;
  for (const waiter of gate.waiters) settle(gate, waiter, false);
  if (gates.get(gate.ctx) === gate) gates.delete(gate.ctx);
}

/** The highest seq held by `required` targets (-1 when not known yet). */
export function durableWatermark(gate: AckGate): number {
  return heldByRequired(gate, gate.watermarks);
}

/** The highest account epoch held by `required` targets. */
function durableAccountEpoch(gate: AckGate): number {
  return heldByRequired(gate, gate.accountWatermarks);
}

function heldByRequired(gate: AckGate, marks: number[]): number {
  const sorted = [...marks].sort((a, b) => b - a);
  return sorted[gate.required - 1] ?? -1;
}

/** A shipping loop learnt that target `index` holds every revision up to `seq`. */
export function noteDurable(gate: AckGate, index: number, seq: number): void {
  if (seq <= (gate.watermarks[index] ?? -1)) return;
  gate.watermarks[index] = seq;
  const durable = durableWatermark(gate);
  gate.ctx.metrics.backupWatermark.set(Math.max(0, durable));
  release(gate);
}

/** A shipping loop learnt that target `index` holds the account tables as they were at account epoch `epoch`. */
export function noteAccountsDurable(gate: AckGate, index: number, epoch: number): void {
  if (epoch <= (gate.accountWatermarks[index] ?? 0)) return;
  gate.accountWatermarks[index] = epoch;
  release(gate);
}

/** Whether an account change waits for its targets: the shipping loops then compare the account tables now. */
export function accountsPending(gate: AckGate): boolean {
  return gate.accountEpoch > durableAccountEpoch(gate);
}

/** Settles the waiters the targets now cover and closes an episode they caught up with. */
function release(gate: AckGate): void {
  const durable = durableWatermark(gate);
  const accounts = durableAccountEpoch(gate);
  for (const waiter of gate.waiters)
    if (waiter.seq <= (waiter.accounts ? accounts : durable)) settle(gate, waiter, true);
  if (gate.degraded && durable >= gate.degraded.seq && accounts >= gate.degraded.accountEpoch) {
    gate.ctx.log.info(
      { since: new Date(gate.degraded.since).toISOString(), seq: durable },
      'backup targets caught up: writes are acknowledged once on them again',
    );
    gate.degraded = null;
    gate.ctx.metrics.backupAckDegraded.set(0);
  }
}

function settle(gate: AckGate, waiter: Waiter, reached: boolean): void {
  clearTimeout(waiter.timer);
  gate.waiters.delete(waiter);
  waiter.resolve(reached);
}

/**
 * Resolves true once `seq` (an account epoch when `accounts`) is on the
 * required targets, false after `backupAckTimeoutMs` (opening a degradation
 * episode) or at once while one is open.
 */
export function waitUntilDurable(gate: AckGate, seq: number, accounts = false): Promise<boolean> {
  if (seq <= (accounts ? durableAccountEpoch(gate) : durableWatermark(gate))) return Promise.resolve(true);
  if (gate.closed || gate.degraded) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const waiter: Waiter = {
      seq,
      accounts,
      resolve,
      timer: setTimeout(() => {
        settle(gate, waiter, false);
        openEpisode(gate, accounts ? { seq: -1, accountEpoch: seq } : { seq, accountEpoch: 0 });
      }, gate.ctx.config.backupAckTimeoutMs),
    };
    gate.waiters.add(waiter);
    gate.onWait();
  });
}

/** Logs, records and shows a degradation once per episode, not once per write. */
function openEpisode(gate: AckGate, awaited: { seq: number; accountEpoch: number }): void {
  if (gate.degraded || gate.closed) return;
  const { ctx } = gate;
  const { seq, accountEpoch } = awaited;
  gate.degraded = { since: ctx.now(), seq, accountEpoch };
  ctx.metrics.backupAckDegraded.set(1);
  const refuse = ctx.config.backupAckOnTimeout === 'refuse';
  const what = seq >= 0 ? `revision ${seq}` : 'an account change (a login, app password or revocation)';
  const summary = `No backup target confirmed ${what} within ${ctx.config.backupAckTimeoutMs} ms; writes are ${
    refuse ? 'refused (503 backup_unavailable)' : 'acknowledged as durable on this server only'
  } until the targets catch up.`;
  ctx.log.error({ seq, watermarks: gate.watermarks }, summary);
  void recordIncident(
    ctx.db,
    {
      kind: 'backup_ack_degraded',
      userId: null,
      summary,
      details: {
        seq,
        accountEpoch,
        watermarks: [...gate.watermarks],
        required: gate.required,
        onTimeout: ctx.config.backupAckOnTimeout,
      },
    },
    ctx.now(),
  ).catch((error) => ctx.log.error({ err: String(error) }, 'could not record backup_ack_degraded'));
}

/**
 * Waits until revision `seq` may be acknowledged and says how durable it is.
 * Without targets, with `backupAck=local` or with nothing written (seq 0 when
 * no target is behind) the answer is immediate. With `backupAckOnTimeout=refuse`
 * a timeout throws `backup_unavailable`: the write is committed here and a
 * retry (same clientChangeId) is answered from its receipt.
 */
export async function awaitDurability(ctx: Context, seq: number): Promise<Durability> {
  const gate = gates.get(ctx);
  if (!gate || ctx.config.backupAck === 'local') return 'local';
  // Nothing written (a retry answered from its receipt passes the seq it wrote then).
  if (seq <= 0) return gate.degraded ? 'local' : 'target';
  if (await waitUntilDurable(gate, seq)) return 'target';
  if (ctx.config.backupAckOnTimeout === 'refuse') {
    throw new AppError(
      'backup_unavailable',
      'The write is stored on this server but no backup target confirmed it in time; retry it (a retry with the same clientChangeId writes nothing twice).',
      { seq, watermark: Math.max(0, durableWatermark(gate)) },
    );
  }
  return 'local';
}

/**
 * Waits until an account change this request committed (a login's device,
 * an app password, a revocation, a password or account setting) is in an
 * account state on the targets, as `awaitDurability` does for revisions:
 * a restore then brings back the device tokens and app passwords people
 * were given and never a credential they revoked. Call once the change is
 * committed.
 */
export async function awaitAccountDurability(ctx: Context): Promise<Durability> {
  const gate = gates.get(ctx);
  if (!gate || ctx.config.backupAck === 'local') return 'local';
  gate.accountEpoch += 1;
  if (await waitUntilDurable(gate, gate.accountEpoch, true)) return 'target';
  if (ctx.config.backupAckOnTimeout === 'refuse') {
    throw new AppError(
      'backup_unavailable',
      'The change is stored on this server but no backup target confirmed it in time; it reaches the targets once they answer.',
      { watermark: Math.max(0, durableWatermark(gate)) },
    );
  }
  return 'local';
}

/** The highest seq durable on the required backup targets, or null without targets. */
export function backupWatermark(ctx: Context): number | null {
  const gate = gates.get(ctx);
  return gate ? Math.max(0, durableWatermark(gate)) : null;
}

/** The state of acknowledgements, for `doctor` and status pages. */
export interface BackupAckHealth {
  /** `none` without targets: the server copy is the only server-side copy. */
  mode: 'target' | 'local' | 'none';
  targets: number;
  required: number;
  watermark: number | null;
  /** Since when writes have been acknowledged without their targets, or null. */
  degradedSince: number | null;
  onTimeout: 'local' | 'refuse';
  /** False when acknowledged writes may exist only on this server. */
  ok: boolean;
}

export function backupAckHealth(ctx: Context): BackupAckHealth {
  const gate = gates.get(ctx);
  const onTimeout = ctx.config.backupAckOnTimeout;
  if (!gate)
    return { mode: 'none', targets: 0, required: 0, watermark: null, degradedSince: null, onTimeout, ok: false };
  const degradedSince = gate.degraded?.since ?? null;
  return {
    mode: ctx.config.backupAck,
    targets: gate.watermarks.length,
    required: gate.required,
    watermark: Math.max(0, durableWatermark(gate)),
    degradedSince,
    onTimeout,
    ok: ctx.config.backupAck === 'target' && degradedSince === null,
  };
}
