import { AppError } from '@holdfast/protocol';
import { listLedger, requireUser, toWireLedgerEntry, verifyLedger } from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

/** `holdfast ledger list [--user NAME] | show SEQ | verify`: the incident ledger, read-only. */
export async function ledgerCommand({ config, args, options, io }: Invocation): Promise<number> {
  const [verb, which] = args;
  return withDatabase(config, 'read', async (ctx) => {
    if (verb === 'list') {
      const userId = typeof options.user === 'string' ? (await requireUser(ctx, options.user)).id : undefined;
      const rows = await listLedger(ctx.db.kysely, { ...(userId ? { userId } : {}), limit: 10_000 });
      if (options.json) io.out(JSON.stringify(rows.map(toWireLedgerEntry), null, 2));
      else
        for (const r of rows)
          io.out(`${r.seq}\t${new Date(r.at).toISOString()}\t${r.kind}\t${r.user_id ?? 'all users'}\t${r.summary}`);
      return 0;
    }
    if (verb === 'show' && which) {
      const seq = Number(which);
      const [row] = await listLedger(ctx.db.kysely, { after: seq - 1, limit: 1 });
      if (!row || row.seq !== seq) throw new AppError('not_found', `No ledger entry ${which}.`);
      io.out(JSON.stringify(toWireLedgerEntry(row), null, 2));
      return 0;
    }
    if (verb === 'verify') {
      const result = await verifyLedger(ctx.db.kysely);
      io.out(
        result.ok
          ? `Ledger intact: ${result.entries} entries, hash chain verified.`
          : `LEDGER BROKEN at entry ${result.brokenAt}: ${result.reason}`,
      );
      return result.ok ? 0 : 1;
    }
    throw new AppError('invalid_request', 'Usage: holdfast ledger list [--user NAME] | show SEQ | verify');
  });
}
