/**
 * Runs in a child process: opens a SQLite replica and syncs until nothing is
 * left to do, printing each result as a JSON line. It prints `>` when a
 * request leaves and `<` when its answer arrives, so a test can SIGKILL it at
 * a chosen point of the sync rather than only during start-up.
 */
import { createClient, openSqliteStore } from '@holdfast/client';

const path = process.argv[2];
if (!path) throw new Error('usage: sync-child <replica.db>');
const marked: typeof fetch = async (input, init) => {
  process.stdout.write('>\n');
  const response = await fetch(input, init);
  process.stdout.write('<\n');
  return response;
};
const client = createClient({
  store: openSqliteStore(path),
  fetch: marked,
  pushBatchSize: 4,
  pullPageSize: 4,
  pullChunkRevisions: 4,
  blobConcurrency: 2,
  retry: { attempts: 1 },
});
for (let round = 0; round < 20; round++) {
  const result = await client.sync();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.pushed === 0 && result.pulled === 0 && client.status().pendingChanges === 0) break;
}
client.close();
process.stdout.write('done\n');
