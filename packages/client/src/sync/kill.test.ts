import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tinyPng } from '@holdfast/test-support/fixtures';
import { vcard } from '@holdfast/test-support/harness';
import { history, liveContents, serverContents } from '@holdfast/test-support/inspect';
import { createAccount, device, engines, type LiveServer, startLiveServer } from '@holdfast/test-support/live-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type HoldfastClient } from '../client.js';
import { openSqliteStore } from '../replica/sqlite-store.js';
import type { SyncResult } from './sync-result.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const child = createRequire(import.meta.url).resolve('@holdfast/test-support/sync-child');

interface Run {
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; results: SyncResult[] }>;
}

/** Runs the child; with `killAfter`, SIGKILLs it a few ms after that many request markers. */
function runChild(replica: string, killAfter?: number): Run {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', tsx, child, replica], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let markers = 0;
  let armed = killAfter !== undefined;
  proc.stdout?.on('data', (data: Buffer) => {
    output += data;
    markers += (data.toString().match(/^[<>]$/gm) ?? []).length;
    if (armed && markers >= (killAfter as number)) {
      armed = false;
      setTimeout(() => proc.kill('SIGKILL'), Math.random() * 15);
    }
  });
  proc.stderr?.on('data', (data: Buffer) => {
    output += data;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
    results: SyncResult[];
  }>((resolve) =>
    proc.on('exit', (code, signal) => {
      const results = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as SyncResult);
      resolve({ code, signal, output, results });
    }),
  );
  return { process: proc, exited };
}

describe.each(engines)('a sync killed at random points on %s', (engine) => {
  let live: LiveServer;
  beforeAll(async () => {
    live = await startLiveServer(engine);
  });
  afterAll(async () => live?.close());

  it('loses nothing and duplicates nothing, push and pull, over 20 SIGKILLs', async () => {
    const account = await createAccount(live);
    const replica = join(live.dir, 'killed.db');
    const setup = await device(live, account, { store: openSqliteStore(replica) });
    const book = setup.createCollection({ id: 'book', type: 'contacts', name: 'Book' });
    const roll = setup.createCollection({ id: 'roll', type: 'photos', name: 'Roll' });
    const notes = setup.createCollection({ id: 'notes', type: 'notes', name: 'Notes' });
    await setup.sync();
    setup.close();
    const other = await device(live, account, { backend: 'memory' });

    const expected = new Map<string, unknown>();
    const edits = new Map<string, number>();
    const open = (): HoldfastClient => createClient({ store: openSqliteStore(replica) });
    let kills = 0;
    for (let iteration = 0; iteration < 20; iteration++) {
      // Local work for the killed device: new contacts, edits of earlier ones, a photo.
      const local = open();
      for (let i = 0; i < 6; i++) {
        const id = `a${iteration}-${i}`;
        local.createItem(book.id, vcard(id, `Person ${id}`), { id });
        expected.set(id, vcard(id, `Person ${id}`));
        edits.set(id, 1);
      }
      if (iteration > 0) {
        const id = `a${iteration - 1}-0`;
        const content = vcard(id, `Edited ${id}`, `+1 555 ${String(iteration).padStart(4, '0')}`);
        local.updateItem(id, content);
        expected.set(id, content);
        edits.set(id, (edits.get(id) ?? 0) + 1);
      }
      const blob = await local.addBlob(tinyPng(2 + iteration, 2), 'image/png');
      local.createItem(roll.id, { caption: `local ${iteration}` }, { id: `ap${iteration}`, blob });
      expected.set(`ap${iteration}`, { caption: `local ${iteration}` });
      edits.set(`ap${iteration}`, 1);
      local.close();

      // Remote work for it to pull: notes, a deletion, a photo.
      await other.sync();
      for (let i = 0; i < 4; i++)
        other.createItem(notes.id, { title: `b${iteration}-${i}`, body: 'remote' }, { id: `b${iteration}-${i}` });
      if (iteration > 0) other.deleteItem(`b${iteration - 1}-1`);
      other.createItem(
        roll.id,
        { caption: `remote ${iteration}` },
        { id: `bp${iteration}`, blob: await other.addBlob(tinyPng(2, 3 + iteration), 'image/png') },
      );
      await other.sync();

      // Somewhere in the sync: after a random number of requests went out or came back.
      const exit = await runChild(replica, Math.floor(Math.random() * 40)).exited;
      if (exit.signal === 'SIGKILL') kills++;
      else expect(exit.code, exit.output).toBe(0);
    }
    expect(kills).toBeGreaterThanOrEqual(10);

    const final = await runChild(replica).exited;
    expect(final.code, final.output).toBe(0);
    expect(final.results.at(-1)).toMatchObject({ conflicts: 0, rejected: 0, summary: 'match' });

    const a = open();
    try {
      expect(a.status()).toMatchObject({ pendingChanges: 0, rejectedChanges: 0, reseeding: false });
      expect(a.conflicts()).toEqual([]);
      const contents = liveContents(a);
      for (const [id, content] of expected) expect(contents.get(id), id).toEqual(content);
      await other.sync();
      expect(contents).toEqual(liveContents(other));
      expect(await serverContents(live, account)).toEqual(contents);
      for (let i = 0; i < 19; i++) expect(a.getItem(`b${i}-1`)?.deleted, `b${i}-1`).toBe(true);
      for (let i = 0; i < 20; i++) {
        const photo = a.getItem(`bp${i}`);
        expect(await a.readBlob(photo?.blob?.sha256 ?? '')).not.toBeNull();
      }
      // No change was applied twice: at most one revision per local edit.
      for (const [id, count] of edits) expect((await history(live, a, id)).length, id).toBeLessThanOrEqual(count);
    } finally {
      a.close();
    }
  }, 300_000);
});
