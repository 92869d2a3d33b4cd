import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * ARCHITECTURE.md and CONTRIBUTING.md name files, folders, functions and
 * constants in backticks. A map that points at things that moved is worse
 * than none, so every such name must still exist: paths on disk, functions
 * and constants in the sources (tests included).
 */

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const SERVER = 'packages/server/src';
const DOCS = ['ARCHITECTURE.md', 'CONTRIBUTING.md'];

/** A file or folder name: no spaces, URLs, globs, placeholders, package names or URL paths. */
const PATH = /^\.?[\w.-]+(?:\/[\w.-]+)*\/?$/;
const FILE = /\.(?:ts|js|md|json|py|txt|yml|yaml)$/;
/** `name()`, `object.name()`, `Type.method()`: the last name must be in the sources. */
const CALL = /^(?:[A-Za-z_$][\w$]*\.)*([A-Za-z_$][\w$]*)\(\)$/;
const CONSTANT = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

interface Reference {
  doc: string;
  line: number;
  token: string;
  /** The folder a table row is about: bare file names in that row are inside it. */
  base: string | null;
}

function references(doc: string, text: string): Reference[] {
  const out: Reference[] = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) return;
    const tokens = [...line.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
    const first = tokens[0];
    const base = line.startsWith('|') && first?.endsWith('/') ? first : null;
    for (const token of tokens) out.push({ doc, line: index + 1, token, base });
  });
  return out;
}

function pathCandidates(ref: Reference): string[] | null {
  const { token, base } = ref;
  if (!PATH.test(token) || (token.startsWith('.') && !token.includes('/'))) return null;
  if (token.includes('/')) return [token, `${SERVER}/${token}`];
  if (!FILE.test(token)) return null;
  return [...(base ? [`${base}${token}`, `${SERVER}/${base}${token}`] : []), token, `${SERVER}/${token}`];
}

function sourceText(): string {
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      // Not this file: its examples of broken names would otherwise count as present.
      else if (entry.name.endsWith('.ts') && full !== fileURLToPath(import.meta.url))
        parts.push(readFileSync(full, 'utf8'));
    }
  };
  for (const dir of ['packages', 'test']) walk(join(root, dir));
  return parts.join('\n');
}

/** Every reference that names something that does not exist, as readable lines. */
function broken(refs: Reference[], sources: string): string[] {
  const out: string[] = [];
  for (const ref of refs) {
    const where = `${ref.doc}:${ref.line}: \`${ref.token}\``;
    const candidates = pathCandidates(ref);
    if (candidates) {
      if (!candidates.some((c) => existsSync(join(root, c)))) out.push(`${where} does not exist`);
      continue;
    }
    const name = CALL.exec(ref.token)?.[1] ?? (CONSTANT.test(ref.token) ? ref.token : null);
    if (name && !new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(sources)) {
      out.push(`${where} is not in the sources`);
    }
  }
  return out;
}

describe('ARCHITECTURE.md and CONTRIBUTING.md', () => {
  const sources = sourceText();

  for (const doc of DOCS) {
    it(`${doc} names only files, folders, functions and constants that exist`, () => {
      const refs = references(doc, readFileSync(join(root, doc), 'utf8'));
      expect(refs.filter((r) => pathCandidates(r) !== null).length).toBeGreaterThan(20);
      expect(broken(refs, sources)).toEqual([]);
    });
  }

  it('CONTRIBUTING.md gives a reason for every dependency in a package.json', () => {
    const contributing = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8');
    const manifests = [
      'package.json',
      ...JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces.map(
        (w: string) => `${w}/package.json`,
      ),
    ];
    const names = manifests.flatMap((m: string) => {
      const manifest = JSON.parse(readFileSync(join(root, m), 'utf8'));
      return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
    });
    expect(names.length).toBeGreaterThan(20);
    const unexplained = [...new Set(names)].filter((name) => !contributing.split(/[\s|,(`]+/).includes(name));
    expect(unexplained).toEqual([]);
  });

  it('catches a moved file, a renamed function and a bare name outside its folder', () => {
    const refs = references(
      'x.md',
      [
        '`sync/push.ts` `packages/server/src/sync/push.ts` `pushChanges()` `ctx.notifier.publishLocal()`',
        '| `packages/client/src/http/` | `transport.ts` |',
        '`sync/pushed.ts` `packages/nowhere/` `pushEverything()` `NO_SUCH_CONSTANT`',
        '`transport.ts` `POST /v1/push` `@holdfast/client` `s3://bucket/prefix`',
        '```',
        '`inside/a/fence.ts`',
        '```',
      ].join('\n'),
    );
    expect(broken(refs, sources)).toEqual([
      'x.md:3: `sync/pushed.ts` does not exist',
      'x.md:3: `packages/nowhere/` does not exist',
      'x.md:3: `pushEverything()` is not in the sources',
      'x.md:3: `NO_SUCH_CONSTANT` is not in the sources',
      'x.md:4: `transport.ts` does not exist',
    ]);
  });
});
