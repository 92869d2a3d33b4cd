/**
 * What one request committed: the highest seq its writes appended. The HTTP
 * layer opens a receipt for every authenticated request and hands it on with
 * the caller (`Caller.receipt`); `writeTransaction` notes into the receipt of
 * the writer it is given, so what a route commits decides what it waits for
 * before acknowledging (backup acknowledgement, backup/ack-gate.ts).
 *
 * Passed explicitly rather than through AsyncLocalStorage: on Node 20 that
 * turns on a hook for every promise the server makes, a cost every request
 * pays whether it writes or not.
 */
export interface WriteReceipt {
  seq: number;
  /**
   * The request changed the account tables besides revisions (a DAV name, an
   * import record), which reach the targets in account states: it waits for
   * one of those too (http/durability-hook.ts).
   */
  accounts?: boolean;
}

/** Whose data a write changes, and the receipt of the request making it (none for background work). */
export interface Writer {
  userId: string;
  receipt?: WriteReceipt | undefined;
}

/** Notes that the request of `receipt` changed the account tables. */
export function noteAccountsChanged(receipt: WriteReceipt | undefined): void {
  if (receipt) receipt.accounts = true;
}

/** Notes that `seq` committed for `receipt`. */
export function noteCommitted(receipt: WriteReceipt | undefined, seq: number): void {
  if (receipt && seq > receipt.seq) receipt.seq = seq;
}
