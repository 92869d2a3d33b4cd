import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { keyObjectSchema } from './keys.js';
import {
  accountStateSchema,
  journalSegmentSchema,
  repositoryConfigSchema,
  revisionSchema,
  snapshotDataSchema,
  snapshotManifestSchema,
  verificationSchema,
} from './schemas.js';

const doc = readFileSync(new URL('../../../docs/backup-format.md', import.meta.url), 'utf8');

/** The ```json blocks that follow `<!-- schema: NAME -->` markers. */
function documentedSchemas(): Map<string, unknown> {
  const blocks = new Map<string, unknown>();
  for (const match of doc.matchAll(/<!-- schema: (\S+) -->\n```json\n([\s\S]*?)\n```/g)) {
    blocks.set(match[1] as string, JSON.parse(match[2] as string));
  }
  return blocks;
}

/** Replaces `{"$ref": "#/$defs/x"}` with the documented definition of x, recursively. */
function resolve(node: unknown, defs: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((entry) => resolve(entry, defs));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/$defs/', '');
    expect(Object.keys(defs), `definition ${name}`).toContain(name);
    return resolve(defs[name], defs);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value, defs)]));
}

/**
 * The code's JSON Schema, minus what the document states once in prose: the
 * date-time regex (documented as RFC 3339) and the 2^53 − 1 integer bound.
 */
function generated(schema: z.ZodType): unknown {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node).filter(([key, value]) => {
      if (key === '$schema') return false;
      if (key === 'pattern' && (node as { format?: unknown }).format === 'date-time') return false;
      return !(key === 'maximum' && value === Number.MAX_SAFE_INTEGER);
    });
    return Object.fromEntries(entries.map(([key, value]) => [key, strip(value)]));
  };
  return strip(z.toJSONSchema(schema, { unrepresentable: 'any' }));
}

describe('docs/backup-format.md', () => {
  it('documents every JSON schema exactly as the code enforces it', () => {
    const blocks = documentedSchemas();
    const defs = blocks.get('$defs') as Record<string, unknown>;
    expect(defs).toBeDefined();
    const schemas: Record<string, z.ZodType> = {
      config: repositoryConfigSchema,
      key: keyObjectSchema,
      journal: journalSegmentSchema,
      data: snapshotDataSchema,
      manifest: snapshotManifestSchema,
      verification: verificationSchema,
      accounts: accountStateSchema,
    };
    expect([...blocks.keys()].sort()).toEqual(['$defs', ...Object.keys(schemas)].sort());
    expect(resolve(defs.revision, defs)).toEqual(generated(revisionSchema));
    for (const [name, schema] of Object.entries(schemas)) {
      expect(resolve(blocks.get(name), defs), name).toEqual(generated(schema));
    }
  });
});
