import type { LedgerRow } from '../store/ledger-entries.js';

/**
 * What one ledger entry means for one person, in plain words: what happened,
 * what of theirs it touched, what came back (or that nothing has yet) and
 * what to do. The same words make the mail and the portal's notice.
 */
export interface Telling {
  /** One line: the mail's subject and the notice's summary. */
  headline: string;
  happened: string;
  yours: string;
  cameBack: string;
  todo: string;
}

/** Names for a person's collections and devices, so the words name things, not ids. */
export interface Names {
  collections: Map<string, string>;
  devices: Map<string, string>;
}

type Details = Record<string, unknown>;

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

const cap = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

function when(at: number): string {
  return new Date(at).toUTCString().replace('GMT', 'UTC');
}

function collectionName(names: Names, id: unknown): string {
  const name = typeof id === 'string' ? names.collections.get(id) : undefined;
  return name ? `"${name}"` : 'a collection';
}

function deviceName(names: Names, id: unknown): string {
  const name = typeof id === 'string' ? names.devices.get(id) : undefined;
  return name ? `your device "${name}"` : 'one of your devices';
}

function restoreOfAccount(d: Details, names: Names): Telling {
  const point = (d.point ?? {}) as { at?: string; seq?: number };
  const to = point.at ? `as it was at ${when(Date.parse(point.at))}` : `as it was at revision ${point.seq}`;
  const scope = Array.isArray(d.collections)
    ? `in ${d.collections.map((id) => collectionName(names, id)).join(', ')}`
    : 'across your whole account';
  const restored = num(d.restored);
  const removed = num(d.removed);
  return {
    headline: `Your data was restored ${to}`,
    happened: `Your data ${scope} was put back ${to}.`,
    yours: `${plural(restored, 'item')} came back as ${restored === 1 ? 'it was' : 'they were'} then and ${plural(removed, 'item')} added since ${removed === 1 ? 'was' : 'were'} removed.`,
    cameBack: `${plural(restored, 'item')} came back. Nothing was lost: every earlier version is kept, and the restore can itself be undone.`,
    todo: 'Check in the portal that your data looks right. Your devices pick up the change when they next sync. If this was not what you wanted, restore again to just before this restore.',
  };
}

function restoreFromBackup(d: Details, share: Details | null): Telling {
  const items = num(share?.items);
  const collections = num(share?.collections);
  return {
    headline: 'The server was restored from a backup',
    happened: `The server's data was restored from a backup, up to revision ${num(d.seq)}.`,
    yours: `Your account was in it: ${plural(items, 'item')} in ${plural(collections, 'collection')}.`,
    cameBack: `Those ${plural(items, 'item')} came back from the backup. Anything you changed after the backup was taken is not on the server yet.`,
    todo: 'Open each of your devices and let it sync: devices put back what the server is missing. Do not delete anything on a device until it has synced. Then check in the portal that your data looks right.',
  };
}

function loss(kind: string, d: Details, at: number): Telling {
  const lost =
    kind === 'rollback_detected' && d.lostFrom !== undefined
      ? `changes recorded as revisions ${num(d.lostFrom)} to ${num(d.lostTo)}`
      : 'changes made shortly before';
  return {
    headline: 'The server lost recent changes; your devices can put them back',
    happened:
      kind === 'rollback_detected'
        ? `On ${when(at)} the server found its database had gone back to an older copy: ${lost} were missing.`
        : `On ${when(at)} the server found it was running on a different database than before; ${lost} may be missing.`,
    yours:
      'This concerns every account on the server, yours included. The server cannot tell exactly which of your items were among them.',
    cameBack: 'Nothing has come back yet.',
    todo: 'Open each of your devices and let it sync: they upload what the server is missing, and you will be told when that happens. Until then calendar and contacts apps may be paused. Do not delete anything on a device until it has synced.',
  };
}

function reseed(d: Details, names: Names): Telling {
  const items = num(d.itemsUploaded);
  return {
    headline: `${cap(deviceName(names, d.deviceId))} put back ${plural(items, 'item')} the server had lost`,
    happened: `${cap(deviceName(names, d.deviceId))} uploaded again what the server was missing after it lost data.`,
    yours: `It put back ${plural(items, 'item')}, ${plural(num(d.blobsUploaded), 'photo or attachment', 'photos or attachments')}, ${plural(num(d.collectionsRecreated), 'collection')} and ${plural(num(d.deletesResent), 'deletion')}.`,
    cameBack: `${plural(items, 'item')} came back from that device.`,
    todo: 'If you have other devices, open them too and let them sync. Then check in the portal that nothing is missing, and report anything that is.',
  };
}

function lossAccepted(d: Details): Telling {
  return {
    headline: 'What the server lost will not come back',
    happened: `The operator (${String(d.operator ?? 'an administrator')}) ended the wait for your devices to put back what the server lost.`,
    yours:
      'Calendar and contacts apps are served again; they will remove items the server no longer has from your devices.',
    cameBack: 'Nothing more will come back to the server by itself.',
    todo: 'If something is missing, look for it on a device that has not synced since, or report it in the portal.',
  };
}

function massChange(d: Details, names: Names): Telling {
  const collections = Array.isArray(d.collections) ? (d.collections as Details[]) : [];
  const what = collections
    .map((c) => `${plural(num(c.deletes), 'item')} of ${num(c.liveItems)} in ${collectionName(names, c.collectionId)}`)
    .join(', ');
  return {
    headline: `The server refused to delete many items at once from ${deviceName(names, d.deviceId)}`,
    happened: `${cap(deviceName(names, d.deviceId))} tried to delete ${what || 'many items'} at once, and the server refused without your confirmation.`,
    yours: 'Nothing was deleted.',
    cameBack: 'Nothing was lost, so nothing needs to come back.',
    todo: 'If you meant to delete them, confirm it on that device. If not, check that device: an app or a sync setting may be wiping your data.',
  };
}

function importUndo(d: Details): Telling {
  const counts = (d.counts ?? {}) as Details;
  return {
    headline: 'An import into your account was undone',
    happened: `The import from ${String(d.source ?? 'a file')} was undone.`,
    yours: `${plural(num(counts.deleted), 'imported item')} removed, ${plural(num(counts.restored), 'item')} put back as before the import, ${plural(num(counts.kept), 'item')} kept because they changed since.`,
    cameBack: `${plural(num(counts.restored), 'item')} are back as they were before the import.`,
    todo: 'Check in the portal that your data looks right.',
  };
}

export function tellingFor(row: LedgerRow, share: Details | null, names: Names): Telling {
  const d = JSON.parse(row.details) as Details;
  switch (row.kind) {
    case 'restore':
      return row.user_id === null ? restoreFromBackup(d, share) : restoreOfAccount(d, names);
    case 'rollback_detected':
    case 'database_replaced':
      return loss(row.kind, d, Number(row.at));
    case 'reseed':
      return reseed(d, names);
    case 'loss_accepted':
      return lossAccepted(d);
    case 'mass_change_blocked':
      return massChange(d, names);
    case 'import_undo':
      return importUndo(d);
    default:
      return { headline: row.summary, happened: row.summary, yours: '', cameBack: '', todo: '' };
  }
}

/** The mail's plain-text body. */
export function mailText(telling: Telling, options: { username: string; seq: number; portalUrl: string }): string {
  const link = options.portalUrl.replace(/\/+$/, '');
  return [
    `Hello ${options.username},`,
    '',
    `What happened: ${telling.happened}`,
    '',
    `What of yours it touched: ${telling.yours}`,
    '',
    `What came back: ${telling.cameBack}`,
    '',
    `What to do: ${telling.todo}`,
    '',
    link ? `Your data, and the full story under "What happened": ${link}/` : '',
    `This is entry ${options.seq} of your server's incident ledger.`,
    '',
    '-- Holdfast',
    '',
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
}
