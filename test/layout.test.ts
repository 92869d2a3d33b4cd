import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Each workspace reaches another only through its package name (and so its
 * `exports`), never by a relative path into the other's files: tests and
 * helpers that did so would keep passing while the public surface they claim
 * to exercise drifts. Shared test helpers live in @holdfast/test-support.
 */

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const scanned = ['packages', 'test', 'bench'];
const skipped = new Set(['node_modules', 'dist', 'fixtures']);
/** These two carry sample import lines as test data for their own checks. */
const selfChecks = new Set(['test/layout.test.ts', 'packages/server/src/layers.test.ts']);

const IMPORT = /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function typescriptFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipped.has(entry.name)) typescriptFiles(full, out);
    } else if (entry.name.endsWith('.ts')) {
      out.push(full);
    }
  }
  return out;
}

/** The folder of the nearest package.json at or above `path`, the repository root at the latest. */
function packageOf(path: string): string {
  let dir = dirname(path);
  // Stops at the file system's root too: a path outside the repository has no package here.
  while (dir !== root && dir !== dirname(dir) && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Relative imports in `text` (a file at `file`) that land in another package, as `specifier -> package`. */
function escapingImports(file: string, text: string, ownerOf: (path: string) => string = packageOf): string[] {
  const owner = ownerOf(file);
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const specifier = m[1] ?? m[2] ?? '';
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    const targetOwner = ownerOf(target);
    if (targetOwner !== owner) out.push(`${specifier} -> ${relative(root, targetOwner) || '.'}`);
  }
  return out;
}

describe('repository layout', () => {
  it('has no relative import from one package into another', () => {
    const offences: string[] = [];
    for (const top of scanned) {
      for (const file of typescriptFiles(join(root, top))) {
        const path = relative(root, file).split(sep).join('/');
        if (selfChecks.has(path)) continue;
        for (const found of escapingImports(file, readFileSync(file, 'utf8'))) offences.push(`${path}: ${found}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('recognises an import that climbs into another package, and one that stays home', () => {
    const owners: Record<string, string> = {
      client: join(root, 'packages/client'),
      server: join(root, 'packages/server'),
    };
    const ownerOf = (path: string) => (path.includes(`${sep}server${sep}`) ? owners.server : owners.client) ?? root;
    const file = join(root, 'packages/client/src/sync/a.test.ts');
    const text = [
      "import { x } from '../../../server/src/main.js';",
      "import type { Y } from '../replica/store.js';",
      "const z = await import('../../../server/src/config.js');",
      "import { w } from '@holdfast/server';",
    ].join('\n');
    expect(escapingImports(file, text, ownerOf)).toEqual([
      '../../../server/src/main.js -> packages/server',
      '../../../server/src/config.js -> packages/server',
    ]);
  });
});
