import { AppError } from '@holdfast/protocol';
import {
  listLedger,
  listUserLedger,
  requireUser,
  toWireLedgerEntry,
  type UserLedgerEntry,
  verifyLedger,
} from '@holdfast/server';
import { withDatabase } from './admin-db.js';
import type { Invocation } from './main.js';

/** `holdfast ledger list [--user NAME] | show SEQ | verify`: the incident ledger, read-only. */
export async function ledgerCommand({ config, args, options, io }: Invocation): Promise<number> {
  const [verb, which] = args;
  return withDatabase(config, 'read', async (ctx) => {
    if (verb === 'list' && typeof options.user === 'string') {
      const user = await requireUser(ctx, options.user);
      const entries = await listUserLedger(ctx.db.kysely, user.id, { after: 0, limit: 10_000 });
      if (options.json) io.out(JSON.stringify(entries, null, 2));
      else for (const entry of entries) for (const line of userEntryLines(entry, user.username)) io.out(line);
      return 0;
    }
    if (verb === 'list') {
      const rows = await listLedger(ctx.db.kysely, { limit: 10_000 });
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

/** One user's entry in words: the incident, what it meant for them, what came back. */
function userEntryLines(entry: UserLedgerEntry, username: string): string[] {
  const who = entry.scope === 'deployment' ? 'all users' : username;
  const lines = [`${entry.seq}\t${entry.at}\t${entry.kind}\t${who}\t${entry.summary}`];
  if (entry.affected) {
    const counts = Object.entries(entry.affected).map(
      ([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`,
    );
    lines.push(`\tfor ${username}: ${counts.join(', ')}`);
  }
  if (entry.recovered) {
    if (entry.recovered.length === 0) lines.push(`\tcame back for ${username}: nothing recorded yet`);
    for (const r of entry.recovered) lines.push(`\tcame back (entry ${r.seq}, ${r.kind}): ${r.summary}`);
  }
  return lines;
}
