import { hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { MessageContent } from '@holdfast/protocol';
import type { BlobSink } from './bundle-import.js';
import { createBlobWriter, type Stored } from './import-blobs.js';
import type { ImportCandidate, ImportProblem } from './import-source.js';
import { joinedChunks } from './sms-backup-text.js';

type Yield = ImportCandidate | ImportProblem;
type Store = (bytes: Uint8Array) => Promise<Stored>;

/** Messages with attachments being stored at once: their fsyncs overlap, and their bytes are held meanwhile. */
const MAX_STORING = 16;
/**
 * Messages read ahead of the one being handed on (each a few hundred bytes until handed on): enough to keep
 * MAX_STORING attachments in flight when one message in a hundred has one, and few enough to die young.
 */
const MAX_AHEAD = 2048;

/** The account owner, as sender or recipient: the backup never names the phone's own number reliably. */
export const ME = 'me';

interface Part {
  contentType: string;
  filename?: string;
  text?: string;
  bytes?: Buffer;
}

/** One `<sms>` or `<mms>`, as read; attachments not yet stored. */
interface Read {
  source: string;
  attrs: Record<string, string>;
  mms: boolean;
  parts: Part[];
  addrs: { address: string; type: string }[];
}

/**
 * The messages of an SMS Backup & Restore file (`<smses>` of `<sms>` and
 * `<mms>`), read as a stream: one message (with its parts) is held at a time.
 * Messages are threaded by the set of other addresses; an MMS's non-text
 * parts (pictures, video, vCards) are stored as blobs and attached. The same
 * message always gives the same content, so importing a backup again, or a
 * later backup that holds it too, writes it once. Attachments of the next
 * few messages are stored while earlier ones wait, and messages are handed
 * on in the file's order.
 */
export async function* smsBackupCandidates(sink: BlobSink, path: string): AsyncGenerator<Yield> {
  // The XML parser is loaded by the import that needs it, not when the server starts.
  const { SaxesParser } = await import('saxes');
  const parser = new SaxesParser({ position: true });
  const ready: Read[] = [];
  let current: Read | null = null;
  let failure: string | null = null;
  let count = 0;

  parser.on('error', (error) => {
    failure ??= error.message;
  });
  parser.on('opentag', (tag) => {
    if (failure) return;
    const attrs = tag.attributes as Record<string, string>;
    if (tag.name === 'sms') {
      count++;
      ready.push({ source: `sms ${count} (line ${parser.line})`, attrs, mms: false, parts: [], addrs: [] });
    } else if (tag.name === 'mms') {
      count++;
      current = { source: `mms ${count} (line ${parser.line})`, attrs, mms: true, parts: [], addrs: [] };
    } else if (tag.name === 'part' && current) {
      current.parts.push(readPart(attrs));
    } else if (tag.name === 'addr' && current) {
      current.addrs.push({ address: attrs.address ?? '', type: attrs.type ?? '' });
    }
  });
  parser.on('closetag', (tag) => {
    if (tag.name === 'mms' && current) {
      ready.push(current);
      current = null;
    }
  });

  const writer = createBlobWriter(sink);
  const store: Store = (bytes) => writer.store(bytes);
  // A queue read from `head` on (compacted now and then): shifting a long array costs its length each time.
  // A plain SMS is ready as soon as it is read; only an MMS with attachments waits on the blob store.
  let ahead: (Yield | Promise<Yield> | undefined)[] = [];
  let head = 0;
  let storing = 0;
  const start = () => {
    for (const read of ready) {
      const candidate = toCandidate(store, read);
      if (candidate instanceof Promise) {
        // Awaited in order below; until then a failure must not count as unhandled.
        candidate.catch(() => {});
        storing++;
      }
      ahead.push(candidate);
    }
    ready.length = 0;
  };
  const waiting = () => ahead.length - head;
  const next = (): Yield | Promise<Yield> => {
    const first = ahead[head] as Yield | Promise<Yield>;
    // Let go of it now rather than at the next compaction.
    ahead[head++] = undefined;
    if (first instanceof Promise) storing--;
    if (head >= 1024) {
      ahead = ahead.slice(head);
      head = 0;
    }
    return first;
  };

  const text = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  for await (const chunk of joinedChunks(text as AsyncIterable<string>)) {
    parser.write(chunk);
    start();
    while (waiting() > 0 && (storing > MAX_STORING || waiting() > MAX_AHEAD)) yield await next();
    if (failure) break;
  }
  if (!failure) parser.close();
  start();
  while (waiting() > 0) yield await next();
  if (failure) {
    yield { kind: 'problem', source: 'file', reason: `not well-formed XML, read up to here: ${failure}` };
  }
}

const NULL = (value: string | undefined) => (value === undefined || value === 'null' ? undefined : value);

function readPart(attrs: Record<string, string>): Part {
  const contentType = (NULL(attrs.ct) ?? 'application/octet-stream').toLowerCase();
  const filename = NULL(attrs.cl) ?? NULL(attrs.name) ?? NULL(attrs.fn);
  const data = NULL(attrs.data);
  return {
    contentType,
    ...(filename ? { filename: filename.slice(0, 255) } : {}),
    ...(NULL(attrs.text) !== undefined ? { text: attrs.text } : {}),
    ...(data !== undefined ? { bytes: Buffer.from(data, 'base64') } : {}),
  };
}

/** A phone number or address as one thread key: spaces, dashes, dots and brackets dropped. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  if (trimmed.includes('@')) return trimmed.toLowerCase();
  return trimmed.replace(/[\s\-().]/g, '') || trimmed;
}

function threadOf(addresses: string[]): string {
  const key = [...new Set(addresses.map(normalizeAddress).filter((a) => a.length > 0))].sort().join(', ');
  if (key.length === 0) return 'unknown';
  if (key.length <= 256) return key;
  // A very large group: a readable start and a hash that keeps it one thread.
  return `${key.slice(0, 230)}… ${hash('sha256', key).slice(0, 16)}`;
}

function sentAt(value: string | undefined): string | null {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return null;
  // Dates are Java milliseconds; some MMS writers give seconds.
  return new Date(n < 1e11 ? n * 1000 : n).toISOString();
}

/** The message as a candidate: at once for an SMS, once its attachments are stored for an MMS. */
function toCandidate(store: Store, read: Read): Yield | Promise<Yield> {
  const problem = (reason: string): ImportProblem => ({ kind: 'problem', source: read.source, reason });
  const at = sentAt(read.attrs.date);
  if (at === null) return problem(`no readable date (${read.attrs.date ?? 'none'})`);
  // SMS `type` / MMS `msg_box`: 1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued.
  const box = read.mms ? read.attrs.msg_box : read.attrs.type;
  if (box === '3') return problem('a draft, never sent; not imported');
  const direction = box === '1' ? 'incoming' : 'outgoing';
  const others = (read.attrs.address ?? '').split('~').filter((a) => NULL(a) !== undefined && a.trim() !== '');
  const thread = threadOf(others);
  const candidate = (
    sender: string,
    recipients: string[],
    body: string,
    attachments: MessageContent['attachments'],
  ) => {
    const content: MessageContent = {
      thread,
      sender: sender.slice(0, 256) || 'unknown',
      recipients: recipients.map((r) => r.slice(0, 256)).filter((r) => r.length > 0),
      body,
      sentAt: at,
      direction,
      attachments,
    };
    return { kind: 'candidate', source: read.source, type: 'messages', content } satisfies ImportCandidate;
  };
  if (!read.mms) {
    // One address, except in files that join a sent message's recipients with `~` (Holdfast's own sms.xml).
    const addresses = others.length > 0 ? others.map(normalizeAddress) : ['unknown'];
    const sender = direction === 'incoming' ? (addresses[0] as string) : ME;
    const recipients = direction === 'incoming' ? [ME] : [...new Set(addresses)];
    return candidate(sender, recipients, NULL(read.attrs.body) ?? '', []);
  }
  // addr types (PduHeaders): 137 from, 151 to, 130 cc, 129 bcc.
  const from = read.addrs.find((a) => a.type === '137');
  const sender = direction === 'incoming' ? normalizeAddress(from?.address ?? others[0] ?? 'unknown') : ME;
  const recipients =
    direction === 'incoming'
      ? [...new Set([ME, ...others.map(normalizeAddress).filter((a) => a !== sender)])]
      : [...new Set(others.map(normalizeAddress))];
  return mmsParts(store, read).then((parts) =>
    'reason' in parts ? problem(parts.reason) : candidate(sender, recipients, parts.body, parts.attachments),
  );
}

/** An MMS's text parts joined as its body, and its other parts stored as attachments. */
async function mmsParts(
  store: Store,
  read: Read,
): Promise<{ body: string; attachments: MessageContent['attachments'] } | { reason: string }> {
  const texts: string[] = [];
  const attachments: MessageContent['attachments'] = [];
  const subject = NULL(read.attrs.sub);
  if (subject) texts.push(subject);
  for (const part of read.parts) {
    if (part.contentType === 'application/smil') continue;
    if (part.contentType.startsWith('text/plain') && part.bytes === undefined) {
      if (part.text) texts.push(part.text);
      continue;
    }
    const bytes = part.bytes ?? (part.text !== undefined ? Buffer.from(part.text, 'utf8') : undefined);
    if (bytes === undefined) continue;
    const stored = await store(bytes);
    if ('reason' in stored) return { reason: `${part.filename ?? part.contentType}: ${stored.reason}` };
    if (attachments.length >= 100) return { reason: 'more than 100 attachments' };
    attachments.push({
      sha256: stored.sha256,
      contentType: part.contentType.slice(0, 255),
      ...(part.filename ? { filename: part.filename } : {}),
    });
  }
  return { body: texts.join('\n'), attachments };
}

/** Whether a file's first bytes are an SMS Backup & Restore document (root element `smses`). */
export function isSmsBackup(head: string): boolean {
  return /^(?:\uFEFF)?\s*(?:<\?[^>]*\?>\s*|<!--[\s\S]*?-->\s*)*<smses[\s>/]/.test(head);
}
