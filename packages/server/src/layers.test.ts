import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * One owner per table: only store/ runs SQL. Feature code (sync/, ledger/)
 * calls store functions with the transaction it holds; transport (http/,
 * dav/, the CLI) calls feature or store functions with the context and never
 * sees Kysely. These rules read the source, so a query that creeps back into
 * the wrong layer fails here rather than in review.
 */

const packages = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/**
 * Code whose queries have not moved into store/ yet, exempt from the rules
 * below (paths under packages/, a trailing slash for a whole folder). Entries
 * only leave this list: one that no longer breaks a rule fails the test, so
 * it is removed as soon as its code has moved.
 */
const AWAITING_STORE_MOVE: string[] = [];

interface Source {
  /** Relative to packages/, with forward slashes. */
  path: string;
  text: string;
}

function sources(root: string): Source[] {
  const out: Source[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'test-support') walk(full);
      } else if (
        entry.name.endsWith('.ts') &&
        !entry.name.endsWith('.test.ts') &&
        !entry.name.includes('test-support')
      ) {
        out.push({ path: relative(packages, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(join(packages, root));
  return out;
}

const IMPORT =
  /\b(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Import {
  from: string;
  /** Brings in values, not only types. */
  values: boolean;
}

function importsOf(text: string): Import[] {
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (m[4]) {
      out.push({ from: m[4], values: true });
      continue;
    }
    const clause = (m[2] ?? '').trim();
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    const values =
      !m[1] &&
      (!braces ||
        (braces[1] ?? '')
          .split(',')
          .map((s) => s.trim())
          .some((s) => s !== '' && !s.startsWith('type ')));
    out.push({ from: m[3] ?? '', values });
  }
  return out;
}

const QUERY =
  /\.(?:selectFrom|insertInto|updateTable|deleteFrom)\(|\bsql(?:<[^`;]*?>)?`|\bsql\.(?:raw|ref|lit|join|id|val|table)\(/;

/** The server folder (store, sync, http…) a relative import from `file` lands in, if any. */
function targetFolder(file: string, from: string): string | null {
  if (!from.startsWith('.')) return null;
  const target = relative(join(packages, 'server/src'), resolve(join(packages, dirname(file)), from));
  if (target.startsWith('..')) return null;
  const [first, second] = target.split(sep);
  return second === undefined ? null : (first ?? null);
}

function isUnder(path: string, folder: string): boolean {
  return path.startsWith(`server/src/${folder}/`);
}

/** Every rule a file breaks, as readable lines. */
function layerViolations({ path, text }: Source): string[] {
  const out: string[] = [];
  const imports = importsOf(text);
  const inStore = isUnder(path, 'store');
  if (!inStore && imports.some((i) => i.from === 'kysely' && i.values)) out.push(`${path}: imports values from kysely`);
  if (!inStore && QUERY.test(text)) out.push(`${path}: runs SQL (${QUERY.exec(text)?.[0]}) outside store/`);
  const transport = isUnder(path, 'http') || isUnder(path, 'dav') || path.startsWith('cli/src/');
  if (transport && imports.some((i) => i.from === 'kysely')) out.push(`${path}: transport imports kysely`);
  if ((isUnder(path, 'http') || isUnder(path, 'dav')) && /\.kysely\b/.test(text)) {
    out.push(`${path}: transport reaches for ctx.db.kysely`);
  }
  if (inStore) {
    for (const i of imports) {
      const folder = targetFolder(path, i.from);
      if (folder && ['sync', 'http', 'dav', 'backup', 'formats', 'ledger'].includes(folder)) {
        out.push(`${path}: store/ imports ${i.from}`);
      }
    }
  }
  if (isUnder(path, 'sync') && imports.some((i) => /^(fastify|@fastify\/)/.test(i.from))) {
    out.push(`${path}: sync/ imports ${imports.find((i) => /^(fastify|@fastify\/)/.test(i.from))?.from}`);
  }
  return out;
}

const exempt = (path: string) => AWAITING_STORE_MOVE.some((e) => (e.endsWith('/') ? path.startsWith(e) : path === e));

describe('layers', () => {
  const all = [...sources('server/src'), ...sources('cli/src')];

  it('finds the source it checks', () => {
    expect(all.some((s) => s.path === 'server/src/store/revision-log.ts')).toBe(true);
    expect(all.some((s) => s.path === 'server/src/sync/push.ts')).toBe(true);
    expect(all.some((s) => s.path.startsWith('cli/src/'))).toBe(true);
    expect(all.some((s) => s.path.endsWith('.test.ts'))).toBe(false);
  });

  it('keeps SQL in store/, Kysely out of transport, store/ below features, and HTTP out of sync/', () => {
    const violations = all.filter((s) => !exempt(s.path)).flatMap(layerViolations);
    expect(violations).toEqual([]);
  });

  it('lists only exemptions that are still needed', () => {
    const stale = AWAITING_STORE_MOVE.filter(
      (entry) =>
        !all.some(
          (s) => (entry.endsWith('/') ? s.path.startsWith(entry) : s.path === entry) && layerViolations(s).length > 0,
        ),
    );
    expect(stale).toEqual([]);
  });

  it('catches each kind of violation', () => {
    const check = (path: string, text: string) => layerViolations({ path, text });
    expect(check('server/src/sync/x.ts', "import { sql } from 'kysely';")).toHaveLength(1);
    expect(check('server/src/sync/x.ts', "import { type Kysely, sql } from 'kysely';")).toHaveLength(1);
    expect(check('server/src/sync/x.ts', "import type { Kysely } from 'kysely';")).toEqual([]);
    expect(check('server/src/sync/x.ts', "import { type Kysely,\n  type Transaction } from 'kysely';")).toEqual([]);
    expect(check('server/src/sync/x.ts', "await trx\n  .selectFrom('items')")).toHaveLength(1);
    expect(check('server/src/ledger/x.ts', "await db.deleteFrom('items')")).toHaveLength(1);
    expect(check('server/src/sync/x.ts', 'await sql<number>`count(*)`.execute(trx)')).toHaveLength(1);
    expect(
      check('server/src/store/x.ts', "import { sql } from 'kysely';\nsql`SELECT 1`; db.selectFrom('items')"),
    ).toEqual([]);
    expect(check('server/src/http/routes/x.ts', "import type { Kysely } from 'kysely';")).toHaveLength(1);
    expect(check('server/src/dav/x.ts', 'await listDevices(ctx.db.kysely)')).toHaveLength(1);
    expect(check('cli/src/x.ts', "import type { Kysely } from 'kysely';")).toHaveLength(1);
    expect(check('cli/src/x.ts', 'await listDevices(ctx.db.kysely)')).toEqual([]);
    expect(check('server/src/store/x.ts', "import { push } from '../sync/push.js';")).toHaveLength(1);
    expect(
      check('server/src/store/migrations/x.ts', "import { itemDigest } from '../../sync/summary-digest.js';"),
    ).toHaveLength(1);
    expect(check('server/src/store/x.ts', "import type { Db } from './database.js';")).toEqual([]);
    expect(check('server/src/sync/x.ts', "import type { FastifyInstance } from 'fastify';")).toHaveLength(1);
  });
});
