/**
 * The simulated devices of bench/load: each one loops over a weighted mix of
 * pushes, pulls, DAV syncs, DAV PUTs and blob uploads until the deadline,
 * with an event stream open beside, and records every request's latency and
 * every write the server acknowledged. Pushes carry ids made as the device
 * SDK makes them (time-ordered, `orderedId`); DAV PUTs carry random names, as
 * phones and desktop apps choose them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { orderedId } from '@holdfast/protocol';
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
  /** performance.now() at each request's start, beside its latency. */
  starts: number[];
  errors: number;
  /** Server-sent events received (event streams only). */
  events: number;
}

export type Stats = Map<string, KindStats>;

/**
 * The share of each kind of step in the mix (a DAV sync is two requests, a blob upload is upload + push).
 * HOLDFAST_BENCH_MIX replaces it, e.g. `pull=1` to measure one kind alone.
 */
const MIX: [string, number][] = process.env.HOLDFAST_BENCH_MIX
  ? process.env.HOLDFAST_BENCH_MIX.split(',').map((part) => {
      const [name, weight] = part.split('=');
      return [name as string, Number(weight ?? 1)];
    })
  : [
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
    entry = { latencies: [], starts: [], errors: 0, events: 0 };
    stats.set(name, entry);
  }
  return entry;
}

/**
 * Keep-alive connections for the devices' requests, as many as there are requests in flight. node:http rather
 * than fetch: the generator shares the machine with the server, and fetch costs several times the CPU per request.
 */
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 1024 });
/** Event streams on their own connections, so they never hold a slot the requests need. */
const streamAgent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

interface Answer {
  status: number;
  body: Buffer;
}

interface Init {
  method?: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** One request over the shared keep-alive agent; resolves with the whole answer. */
function send(url: string, init: Init): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Requests started before `from` (performance.now() time) are made but not counted: the devices warm up
 * first, so the window measures a steady state rather than 200 connections opening at once.
 */
export const measured = { from: 0 };

/** Where a request's figures go: its kind's, or nowhere during the warm-up. */
function entryFor(stats: Stats, name: string, start: number): KindStats {
  return start >= measured.from ? kind(stats, name) : { latencies: [], starts: [], errors: 0, events: 0 };
}

/** Runs one request, timing it to the end of its body; a non-2xx answer or a failure counts as an error. */
async function timed(stats: Stats, name: string, url: string, init: Init): Promise<Answer | null> {
  const start = performance.now();
  const entry = entryFor(stats, name, start);
  try {
    const answer = await send(url, init);
    entry.latencies.push(performance.now() - start);
    entry.starts.push(start);
    if (answer.status >= 300) {
      entry.errors++;
      return null;
    }
    return answer;
  } catch {
    entry.errors++;
    return null;
  }
}

/**
 * Holds `/v1/events` open until `signal` aborts, counting the events that arrive. `opened` settles once the
 * stream is answered (or failed), `closed` when it ends.
 */
export function listen(
  stats: Stats,
  url: string,
  token: string,
  signal: AbortSignal,
): { opened: Promise<void>; closed: Promise<void> } {
  const start = performance.now();
  const entry = kind(stats, 'events-open');
  let opened = () => {};
  const answered = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const closed = new Promise<void>((settle) => {
    const resolve = () => {
      opened();
      settle();
    };
    const req = request(
      `${url}/v1/events`,
      { headers: { authorization: `Bearer ${token}` }, agent: streamAgent, signal },
      (res) => {
        entry.latencies.push(performance.now() - start);
        entry.starts.push(start);
        opened();
        if (res.statusCode !== 200) {
          entry.errors++;
          res.resume();
          resolve();
          return;
        }
        res.setEncoding('utf8');
        // An event's `data:` line arrives whole in practice; one split across chunks is merely not counted.
        res.on('data', (text: string) => {
          entry.events += (text.match(/^data:/gm) ?? []).length;
        });
        res.on('error', () => {
          if (!signal.aborted) entry.errors++;
          resolve();
        });
        res.on('close', resolve);
      },
    );
    req.on('error', () => {
      if (!signal.aborted) entry.errors++;
      resolve();
    });
    req.end();
  });
  return { opened: answered, closed };
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
    const entry = entryFor(stats, name, performance.now());
    const response = await timed(stats, name, `${url}/v1/push`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ changes }),
    });
    if (!response) return;
    const results = (JSON.parse(response.body.toString()) as { results: { status: string; revision?: number }[] })
      .results;
    for (const [i, result] of results.entries()) {
      const itemId = (changes[i] as { itemId: string }).itemId;
      if (result.status === 'applied' && result.revision !== undefined) {
        acked.pushes.push({ seq: result.revision, itemId });
        // Notes only: those are what later pushes edit.
        if (name === 'push') heads.set(itemId, result.revision);
      } else entry.errors++;
    }
  };

  while (performance.now() < deadline) {
    const step = pickStep(Math.random() * total);
    if (step === 'push') {
      // Five notes per push; about a third edit a note this device wrote before.
      const known = [...heads.keys()];
      const changes = Array.from({ length: 5 }, () => {
        const edit = known.length > 0 && Math.random() < 0.3;
        const itemId = edit ? (known[Math.floor(Math.random() * known.length)] as string) : orderedId();
        return {
          clientChangeId: orderedId(),
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
      if (response) cursor = (JSON.parse(response.body.toString()) as { cursor: string }).cursor;
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
      if (report) syncToken = /<(?:\w+:)?sync-token>([^<]*)</.exec(report.body.toString())?.[1] ?? syncToken;
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
          clientChangeId: orderedId(),
          collectionId: user.photos,
          itemId: orderedId(),
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
