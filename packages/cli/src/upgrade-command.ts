import { upgrade } from '@holdfast/server';
import type { Invocation } from './main.js';

/** `holdfast upgrade`: back up, verify by restoring, then migrate; refuses if the backup is not proven. */
export async function upgradeCommand({ config, io }: Invocation): Promise<number> {
  const result = await upgrade(config);
  if (result.before.pending.length === 0) {
    io.out(`The database is up to date (schema version ${result.before.version}).`);
    return 0;
  }
  for (const backup of result.backups) {
    io.out(
      `backup on target ${backup.index + 1}: ${backup.ok ? `snapshot at revision ${backup.value.seq}` : `FAILED: ${backup.error}`}`,
    );
  }
  for (const drill of result.drills) {
    const ok = drill.ok && drill.value.verification.record.ok;
    io.out(
      `restore drill on target ${drill.index + 1}: ${ok ? 'passed' : `FAILED${drill.ok ? '' : `: ${drill.error}`}`}`,
    );
  }
  if (result.refused) {
    io.err(`holdfast: not upgrading; no fresh verified backup: ${result.refused.join('; ')}`);
    return 1;
  }
  io.out(`Migrated ${result.before.pending.join(', ')}; schema version ${result.after?.version ?? '?'}.`);
  return 0;
}
