/**
 * The simulated devices of bench/load: each one loops over a weighted mix of
 * pushes, pulls, DAV syncs, DAV PUTs and blob uploads until the deadline,
 * with an event stream open beside, and records every request's latency and
 * every write the server acknowledged.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { contactCard } from './support.js';

/** One user's handles, created before the load starts. */
export interface LoadUser {
  username: string;
  appPassword: string;
  /** Device tokens, one per simulated device. */
  tokens: string[];
  notes: string;
  photos: string;
  contacts: string;
}

/** Writes the server said it kept: each must be in the database and in the backup afterwards. */
export interface Acknowledged {
  /** Push results `applied`: the revision and the item it wrote. */
  pushes: { seq: number; itemId: string }[];
  /** DAV PUTs answered 201 or 204. */
  davPuts: { collectionId: string; name: string }[];
  /** Blob uploads answered 200 or 201. */
  blobs: string[];
}

export interface KindStats {
  latencies: number[];
  errors: number;
  /** Server-sent events received (event streams only). */
  events: number;
}

export type Stats = Map<string, KindStats>;

/** The share of each kind of step in the mix (a DAV sync is two requests, a blob upload is upload + push). */
const MIX: [string, number][] = [
  ['push', 35],
  ['pull', 30],
  ['dav-sync', 15],
  ['dav-put', 10],
  ['blob', 10],
];
const BLOB_BYTES = 32 * 1024;
const PROPFIND =
  '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>';
const syncReport = (token: string) =>
  `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token>` +
  '<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>';

let cardNumber = 0;

function kind(stats: Stats, name: string): KindStats {
  let entry = stats.get(name);
  if (!entry) {
    entry = { latencies: [], errors: 0, events: 0 };
    stats.set(name, entry);
  }
  return entry;
}

/** Runs one request, timing it to the end of its body; a non-2xx answer or a failure counts as an error. */
async function timed(stats: Stats, name: string, url: string, init: RequestInit): Promise<Response | null> {
  const start = performance.now();
  try {
    const response = await fetch(url, init);
    const body = await response.arrayBuffer();
    kind(stats, name).latencies.push(performance.now() - start);
    if (response.status >= 300) {
      kind(stats, name).errors++;
      return null;
    }
    return new Response(body, { status: response.status, headers: response.headers });
  } catch {
    kind(stats, name).errors++;
    return null;
  }
}

/** Holds `/v1/events` open until `signal` aborts, counting the events that arrive. */
export async function listen(stats: Stats, url: string, token: string, signal: AbortSignal): Promise<void> {
  const start = performance.now();
  const entry = kind(stats, 'events-open');
  try {
    const response = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal });
    entry.latencies.push(performance.now() - start);
    if (response.status !== 200 || !response.body) {
      entry.errors++;
      return;
    }
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      entry.events += (decoder.decode(chunk, { stream: true }).match(/^data:/gm) ?? []).length;
    }
  } catch {
    if (!signal.aborted) entry.errors++;
  }
}

/** The kind of step at `point` in [0, total weight) of the mix. */
function pickStep(point: number): string {
  let rest = point;
  for (const [name, weight] of MIX) {
    if (rest < weight) return name;
    rest -= weight;
  }
  return 'push';
}

/** One device's loop until `deadline` (performance.now() time). */
export async function drive(
  stats: Stats,
  acked: Acknowledged,
  url: string,
  user: LoadUser,
  device: number,
  deadline: number,
): Promise<void> {
  const token = user.tokens[device] as string;
  const bearer = { authorization: `Bearer ${token}` };
  const basic = { authorization: `Basic ${Buffer.from(`${user.username}:${user.appPassword}`).toString('base64')}` };
  const heads = new Map<string, number>();
  let cursor = '';
  let syncToken = '';
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);

  const push = async (name: string, changes: Record<string, unknown>[]) => {
    const response = await timed(stats, name, `${url}/v1/push`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ changes }),
    });
    if (!response) return;
    const results = ((await response.json()) as { results: { status: string; revision?: number }[] }).results;
    for (const [i, result] of results.entries()) {
      const itemId = (changes[i] as { itemId: string }).itemId;
      if (result.status === 'applied' && result.revision !== undefined) {
        acked.pushes.push({ seq: result.revision, itemId });
        // Notes only: those are what later pushes edit.
        if (name === 'push') heads.set(itemId, result.revision);
      } else kind(stats, name).errors++;
    }
  };

  while (performance.now() < deadline) {
    const step = pickStep(Math.random() * total);
    if (step === 'push') {
      // Five notes per push; about a third edit a note this device wrote before.
      const known = [...heads.keys()];
      const changes = Array.from({ length: 5 }, () => {
        const edit = known.length > 0 && Math.random() < 0.3;
        const itemId = edit ? (known[Math.floor(Math.random() * known.length)] as string) : randomUUID();
        return {
          clientChangeId: randomUUID(),
          collectionId: user.notes,
          itemId,
          op: 'put',
          baseRevision: edit ? (heads.get(itemId) ?? null) : null,
          content: { title: `Note ${itemId.slice(0, 8)}`, body: `${'lorem ipsum '.repeat(40)}${Date.now()}` },
        };
      });
      // Two edits of one item in one push would conflict with each other: keep the first.
      const seen = new Set<string>();
      await push(
        'push',
        changes.filter((c) => !seen.has(c.itemId) && seen.add(c.itemId)),
      );
    } else if (step === 'pull') {
      const response = await timed(stats, 'pull', `${url}/v1/changes?limit=200${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: bearer,
      });
      if (response) cursor = ((await response.json()) as { cursor: string }).cursor;
    } else if (step === 'dav-sync') {
      const book = `${url}/dav/addressbooks/${user.username}/${user.contacts}/`;
      await timed(stats, 'dav-propfind', book, {
        method: 'PROPFIND',
        headers: { ...basic, depth: '0', 'content-type': 'application/xml' },
        body: PROPFIND,
      });
      const report = await timed(stats, 'dav-report', book, {
        method: 'REPORT',
        headers: { ...basic, depth: '1', 'content-type': 'application/xml' },
        body: syncReport(syncToken),
      });
      if (report) syncToken = /<(?:\w+:)?sync-token>([^<]*)</.exec(await report.text())?.[1] ?? syncToken;
    } else if (step === 'dav-put') {
      const name = `${randomUUID()}.vcf`;
      const n = 1_000_000 + cardNumber++;
      const response = await timed(
        stats,
        'dav-put',
        `${url}/dav/addressbooks/${user.username}/${user.contacts}/${name}`,
        {
          method: 'PUT',
          headers: { ...basic, 'content-type': 'text/vcard; charset=utf-8', 'if-none-match': '*' },
          body: contactCard(n),
        },
      );
      if (response && (response.status === 201 || response.status === 204))
        acked.davPuts.push({ collectionId: user.contacts, name });
    } else {
      const bytes = randomBytes(BLOB_BYTES);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const response = await timed(stats, 'blob-upload', `${url}/v1/blobs/${sha}`, {
        method: 'PUT',
        headers: { ...bearer, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      if (!response || (response.status !== 200 && response.status !== 201)) continue;
      acked.blobs.push(sha);
      // A blob nobody refers to may be collected; a photo refers to it.
      await push('push-photo', [
        {
          clientChangeId: randomUUID(),
          collectionId: user.photos,
          itemId: randomUUID(),
          op: 'put',
          baseRevision: null,
          content: { filename: `${sha.slice(0, 12)}.jpg` },
          blob: { sha256: sha, contentType: 'application/octet-stream' },
        },
      ]);
    }
  }
}

/** The p-th percentile (0..100) of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
