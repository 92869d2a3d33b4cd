import { type HoldfastClient, HoldfastError, type PendingMassChange, type SyncResult } from '@holdfast/client';

/**
 * Exit codes of the device verbs (`holdfast device login|sync|…`), beside
 * the CLI's 0 (done), 1 (unexpected failure) and 2 (usage or refused):
 */
export const DEVICE_EXIT = {
  /** A sync stopped at the mass-change guard; nothing of it was applied. */
  massChange: 3,
  /** The server could not be reached or was unavailable: try again later. */
  unreachable: 4,
  /** The server does not know this device (revoked, or it lost its data), or it never logged in. */
  loginNeeded: 5,
} as const;

/** What the device knows about where it syncs, for messages that name the next step. */
export interface DeviceWhere {
  serverUrl: string | null;
  username: string | null;
  /** The --replica flag to repeat in suggested commands, if one was given. */
  replicaFlag: string;
}

export function deviceWhere(client: HoldfastClient, serverFlag: string | undefined, replica: string | undefined) {
  const state = client.store.transaction((tx) => tx.getState());
  return {
    serverUrl: serverFlag ?? state.serverUrl,
    username: state.username,
    replicaFlag: replica ? ` --replica ${replica}` : '',
  };
}

function loginCommand(where: DeviceWhere): string {
  return `holdfast device login --server ${where.serverUrl ?? 'URL'} --user ${where.username ?? 'NAME'}${where.replicaFlag}`;
}

/**
 * An expected failure as one line naming the next step, with its exit code;
 * null for anything unexpected (reported with its stack).
 */
export function explainDeviceError(
  error: unknown,
  verb: string,
  where: DeviceWhere,
): { message: string; exitCode: number } | null {
  if (!(error instanceof HoldfastError)) return null;
  const server = where.serverUrl ?? 'the server';
  switch (error.code) {
    case 'network':
      return {
        message: `cannot reach ${server} — is the server running? Try again later, or check --server.`,
        exitCode: DEVICE_EXIT.unreachable,
      };
    case 'unavailable':
    case 'internal':
    case 'rate_limited':
      return {
        message: `${server} could not answer now (${error.code.replace('_', ' ')}: ${error.message}) — try again later; your local data is kept.`,
        exitCode: DEVICE_EXIT.unreachable,
      };
    case 'redirect':
    case 'unexpected_response':
      return {
        message: `${server} did not answer like a Holdfast server (${error.message}) — check --server.`,
        exitCode: DEVICE_EXIT.unreachable,
      };
    case 'unauthorized':
      if (verb === 'login') return { message: 'wrong username or password, or the account is disabled.', exitCode: 2 };
      return {
        message: `this device is not known to the server (revoked, or the server lost its data): log in again with \`${loginCommand(where)}\`; your local data is kept.`,
        exitCode: DEVICE_EXIT.loginNeeded,
      };
    case 'not_logged_in':
      return {
        message: `this device is not logged in: run \`${loginCommand(where)}\` first.`,
        exitCode: DEVICE_EXIT.loginNeeded,
      };
    case 'generation_changed':
    case 'cursor_ahead':
      return {
        message: `the server was restored or rolled back again while this device was re-uploading its data: run \`holdfast device sync${where.replicaFlag}\` again; your local data is kept.`,
        exitCode: DEVICE_EXIT.unreachable,
      };
    case 'mass_change_blocked':
      return {
        message: `sync stopped: ${error.message} Run \`holdfast device sync --confirm-mass-change${where.replicaFlag}\` if you meant it.`,
        exitCode: DEVICE_EXIT.massChange,
      };
    default:
      return { message: error.message, exitCode: 2 };
  }
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((100 * part) / whole) : 100;
}

/** A stopped sync in words, with the command that goes ahead. */
export function massChangeMessage(change: PendingMassChange, client: HoldfastClient, where: DeviceWhere): string {
  const again = `run \`holdfast device sync --confirm-mass-change${where.replicaFlag}\` if you meant it`;
  if (change.direction === 'push') {
    const collection = change.collectionId ? client.getCollection(change.collectionId) : null;
    const name = collection ? `"${collection.name}" (${collection.id})` : (change.collectionId ?? 'a collection');
    return `sync stopped: this would delete ${change.deletes} items (${percent(change.deletes, change.liveItems)}%) from ${name}; nothing was deleted on the server; ${again}.`;
  }
  const blanks = change.blanks > 0 ? ` and blank ${change.blanks}` : '';
  return `sync stopped: the server's changes would delete ${change.deletes}${blanks} of the ${change.liveItems} items on this device (${percent(change.deletes + change.blanks, change.liveItems)}%); nothing was applied; ${again}.`;
}

/** What a re-seed did, in words: the server had lost data and this device sent back what it held. */
export function recoveryMessage(reseeded: NonNullable<SyncResult['reseeded']>): string {
  const why =
    reseeded.reason === 'summary_mismatch'
      ? 'the server was missing data this device holds'
      : 'the server had lost data (it was restored from a backup or rolled back)';
  return `recovered: ${why}; this device sent back ${reseeded.itemsUploaded} items, ${reseeded.blobsUploaded} files and ${reseeded.deletesResent} deletions. A copy of the replica from before is at ${reseeded.snapshotPath}; the server's ledger records the recovery.`;
}
