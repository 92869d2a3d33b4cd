import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one request committed: the highest seq its writes appended. The HTTP
 * layer opens a receipt around every handler; `writeTransaction` notes into
 * the open one, so no write route can forget to report what it must wait for
 * before acknowledging (backup acknowledgement, backup/ack-gate.ts).
 */
export interface WriteReceipt {
  seq: number;
}

const open = new AsyncLocalStorage<WriteReceipt>();

/** Runs `work` with `receipt` open: every commit made inside it is noted there. */
export function withWriteReceipt<T>(receipt: WriteReceipt, work: () => T): T {
  return open.run(receipt, work);
}

/** The receipt open for the current request, if any (background jobs have none). */
export function currentWriteReceipt(): WriteReceipt | undefined {
  return open.getStore();
}

/** Notes that `seq` committed for `receipt`. */
export function noteCommitted(receipt: WriteReceipt | undefined, seq: number): void {
  if (receipt && seq > receipt.seq) receipt.seq = seq;
}
