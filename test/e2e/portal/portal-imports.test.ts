import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The portal is browser code built on its own: it reaches the server only over
 * HTTP, and takes the wire shapes it shares with the server from the protocol
 * package's browser-safe entries (the package root also holds hashing code
 * that needs node:crypto). These rules read the source.
 */
const WEB_SRC = fileURLToPath(new URL('../../../packages/web/src', import.meta.url));
const IMPORT =
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\s*from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function portalSources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts'))
        out.push({ path: relative(WEB_SRC, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  walk(WEB_SRC);
  return out;
}

function importsOf(path: string, text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => {
    const from = m[1] ?? m[2] ?? '';
    // Relative imports as where they land, so one that leaves the portal shows as such.
    return from.startsWith('.') ? relative(WEB_SRC, resolve(dirname(join(WEB_SRC, path)), from)) : from;
  });
}

describe('portal sources', () => {
  const sources = portalSources();

  it('import no server code, nothing of Node, and only browser-safe entries of the protocol package', () => {
    expect(sources.some((s) => s.path === 'pages/admin/admin-api.ts')).toBe(true);
    const wrong = sources.flatMap(({ path, text }) =>
      importsOf(path, text)
        .filter(
          (from) =>
            from.startsWith('..') ||
            from.startsWith('node:') ||
            from === '@holdfast/protocol' ||
            (from.startsWith('@holdfast/') && !from.startsWith('@holdfast/protocol/')),
        )
        .map((from) => `${path}: ${from}`),
    );
    expect(wrong).toEqual([]);
  });

  it("take the operators' overview and user list from the protocol package instead of declaring them again", () => {
    const redeclared = sources.flatMap(({ path, text }) =>
      [...text.matchAll(/\b(?:interface|type)\s+(Overview|AdminOverview|Target|AdminTarget|AdminUser)\b\s*[={]/g)].map(
        (m) => `${path}: ${m[1]}`,
      ),
    );
    expect(redeclared).toEqual([]);
    const adminApi = sources.find((s) => s.path === 'pages/admin/admin-api.ts')?.text ?? '';
    expect(importsOf('pages/admin/admin-api.ts', adminApi)).toContain('@holdfast/protocol/admin');
  });
});
