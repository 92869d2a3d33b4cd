import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJsonLines } from './json-lines.js';

describe('readJsonLines', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives back every value whole, whatever line-like characters its strings hold', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-json-lines-'));
    const path = join(dir, 'values.jsonl');
    const values = ['x\u2028y', 'x\u2029y', 'x\u0085y', 'a\rb\nc\r\nd', '日本語', '🙂'.repeat(40_000), ''];
    await writeFile(path, values.map((v) => `${JSON.stringify({ v })}\n`).join(''));
    const read: string[] = [];
    for await (const line of readJsonLines(path)) read.push((JSON.parse(line) as { v: string }).v);
    expect(read).toEqual(values);
  });
});
