import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { CODE_SCHEMA_VERSION, readSchemaState } from './migrate.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * One process that opens `path` and migrates it, starting at `startAt` (ms
 * since the epoch) so that several processes begin at the same moment.
 */
function migrateInProcess(path: string, startAt: number): Promise<{ code: number | null; output: string }> {
  const script = `
    const { openDatabase } = await import(${JSON.stringify(pathToFileURL(join(here, 'database.ts')).href)});
    const { migrateToLatest } = await import(${JSON.stringify(pathToFileURL(join(here, 'migrate.ts')).href)});
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ${startAt} - Date.now())));
    const db = openDatabase(${JSON.stringify(path)});
    try {
      const state = await migrateToLatest(db);
      console.log('schema version ' + state.version);
    } finally {
      await db.close();
    }
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', tsx, '--input-type=module', '-e', script],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('SQLite migration lock', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('lets processes migrating one fresh file at once take turns instead of creating the same tables twice', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = await mkdtemp(join(tmpdir(), 'holdfast-migrate-lock-'));
      dirs.push(dir);
      const path = join(dir, 'holdfast.db');
      // Far enough ahead for every process to have loaded the code.
      const startAt = Date.now() + 4000;
      const results = await Promise.all([1, 2, 3].map(() => migrateInProcess(path, startAt)));
      for (const result of results) {
        expect(result.output).not.toMatch(/already exists/);
        expect(result.code, result.output).toBe(0);
        expect(result.output).toContain(`schema version ${CODE_SCHEMA_VERSION}`);
      }
      const db = openDatabase(path);
      try {
        const state = await readSchemaState(db);
        expect(state.pending).toEqual([]);
        expect(state.applied).toHaveLength(CODE_SCHEMA_VERSION);
      } finally {
        await db.close();
      }
    }
  }, 120_000);
});
