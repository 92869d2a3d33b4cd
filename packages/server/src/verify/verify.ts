import { AppError, type CollectionType, collectionSchema, wireItemSchema } from '@holdfast/protocol';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { defaultBundleLimits, openBundle, readManifest } from '../bundle/bundle-reader.js';
import { decodeContent } from '../content/index.js';
import { allItemsAt, collectionsAt } from '../store/account-snapshot.js';
import { readHead } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { checkBundle, type Finding } from './verify-bundle.js';
import { compareWithLive, type LiveItem, type LiveSource } from './verify-live.js';

export interface VerifyReport {
  /** True when the bundle matches its manifest and (if compared) the live account. */
  ok: boolean;
  manifest: {
    user: string;
    createdAt: string;
    revision: number;
    collections: number;
    items: number;
    files: number;
  } | null;
  /** Problems with the bundle itself. */
  findings: Finding[];
  /** Differences from the live account, when one was given. */
  live?: { source: string; findings: Finding[] };
}

/** Verify reads the operator's own files, not uploads: it takes manifests of up to some 2.5 million items. */
const VERIFY_LIMITS = { ...defaultBundleLimits, maxManifestBytes: 512 * 1024 * 1024 };

/** Checks an export bundle against its manifest and, given a live source, against the account. */
export async function verifyExport(path: string, live?: LiveSource): Promise<VerifyReport> {
  let bundle: Awaited<ReturnType<typeof openBundle>>;
  try {
    bundle = await openBundle(path, VERIFY_LIMITS);
  } catch (error) {
    if (error instanceof AppError)
      return { ok: false, manifest: null, findings: [{ where: path, message: error.message }] };
    throw error;
  }
  try {
    let manifest: Awaited<ReturnType<typeof readManifest>>;
    try {
      manifest = await readManifest(bundle, VERIFY_LIMITS.maxManifestBytes);
    } catch (error) {
      if (error instanceof AppError)
        return { ok: false, manifest: null, findings: [{ where: 'manifest.json', message: error.message }] };
      throw error;
    }
    const { findings, items } = await checkBundle(bundle, manifest);
    const report: VerifyReport = {
      ok: findings.length === 0,
      manifest: {
        user: manifest.user.username,
        createdAt: manifest.createdAt,
        revision: manifest.revision,
        collections: manifest.collections.length,
        items,
        files: manifest.files.length,
      },
      findings,
    };
    if (live) {
      const differences = await compareWithLive(bundle, manifest, live);
      report.live = { source: live.describe, findings: differences };
      report.ok &&= differences.length === 0;
    }
    return report;
  } finally {
    bundle.close();
  }
}

/** The account as the database has it now (the command line's `--user`). */
export function databaseLiveSource(db: Kysely<Database>, user: { id: string; username: string }): LiveSource {
  // One moment for a whole comparison: taken when the collections are listed.
  let head = 0;
  const types = new Map<string, CollectionType>();
  return {
    describe: `database, user ${user.username}`,
    async collections() {
      head = await readHead(db);
      const collections = await collectionsAt(db, user.id, head);
      for (const c of collections) types.set(c.id, c.type);
      return collections;
    },
    async *items(collectionId) {
      const type = types.get(collectionId) ?? 'contacts';
      for await (const item of allItemsAt(db, user.id, collectionId, head)) {
        yield {
          id: item.id,
          revision: item.revision.seq,
          content: decodeContent(type, item.revision.content),
          blobSha256: item.revision.blob_sha256,
        };
      }
    },
  };
}

const collectionsResponse = z.object({ collections: z.array(collectionSchema) });
const itemsResponse = z.object({ items: z.array(wireItemSchema), next: z.string().nullable() });

/** The account as a running server shows it over the API (`--server URL --token T`). */
export function httpLiveSource(baseUrl: string, token: string, fetchImpl: typeof fetch = fetch): LiveSource {
  const base = baseUrl.replace(/\/+$/, '');
  const get = async <T>(path: string, schema: z.ZodType<T>): Promise<T> => {
    const response = await fetchImpl(`${base}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    const body = await response.text();
    if (!response.ok) throw new AppError('unavailable', `GET ${path}: HTTP ${response.status} ${body.slice(0, 200)}`);
    const parsed = schema.safeParse(JSON.parse(body));
    if (!parsed.success)
      throw new AppError('unavailable', `GET ${path}: unexpected response (${parsed.error.issues[0]?.message})`);
    return parsed.data;
  };
  return {
    describe: base,
    async collections() {
      return (await get('/v1/collections', collectionsResponse)).collections;
    },
    async *items(collectionId): AsyncGenerator<LiveItem> {
      let after: string | null = null;
      do {
        const query: string = after ? `&after=${encodeURIComponent(after)}` : '';
        const page = await get(
          `/v1/collections/${encodeURIComponent(collectionId)}/items?limit=1000${query}`,
          itemsResponse,
        );
        for (const item of page.items) {
          yield { id: item.id, revision: item.revision, content: item.content, blobSha256: item.blob?.sha256 ?? null };
        }
        after = page.next;
      } while (after !== null);
    },
  };
}

/** The report as lines for a terminal. */
export function formatVerifyReport(path: string, report: VerifyReport): string[] {
  const lines: string[] = [];
  const m = report.manifest;
  if (m) {
    lines.push(
      `${path}: export of ${m.user} at revision ${m.revision} (${m.createdAt}): ${m.collections} collections, ${m.items} items, ${m.files} files.`,
    );
  }
  lines.push(
    report.findings.length === 0
      ? 'Bundle: every file, item and field count matches the manifest.'
      : `Bundle: ${report.findings.length} problem(s):`,
  );
  for (const f of report.findings) lines.push(`  ${f.where}: ${f.message}`);
  if (report.live) {
    const n = report.live.findings.length;
    lines.push(
      n === 0
        ? `Account (${report.live.source}): every item and field matches the export.`
        : `Account (${report.live.source}): ${n} difference(s):`,
    );
    for (const f of report.live.findings) lines.push(`  ${f.where}: ${f.message}`);
  }
  lines.push(report.ok ? 'OK' : 'MISMATCH');
  return lines;
}
