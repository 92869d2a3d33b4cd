import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonLines } from './json-lines.js';

/**
 * Values written to a temporary file (one JSON line each) and read back in
 * the same order: how an export keeps what it must write later (manifest
 * entries, a calendar's items) off the heap.
 */
export interface JsonSpool<T> {
  add(value: T): Promise<void>;
  /** Ends writing and reads every value back, in order. Call once (this or `lines`). */
  read(): AsyncGenerator<T>;
  /** The same, as the JSON text of each value. */
  lines(): AsyncGenerator<string>;
  /** Deletes the file; safe to call more than once. */
  close(): Promise<void>;
}

export async function createJsonSpool<T>(): Promise<JsonSpool<T>> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-spool-'));
  const path = join(dir, 'values.jsonl');
  const out = createWriteStream(path, { highWaterMark: 1 << 16 });
  let removed = false;

  async function* lines(): AsyncGenerator<string> {
    out.end();
    if (!out.closed) await once(out, 'close');
    yield* readJsonLines(path);
  }

  return {
    async add(value) {
      if (!out.write(`${JSON.stringify(value)}\n`)) await once(out, 'drain');
    },
    async *read() {
      for await (const line of lines()) yield JSON.parse(line) as T;
    },
    lines,
    async close() {
      if (removed) return;
      removed = true;
      if (!out.closed) out.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
