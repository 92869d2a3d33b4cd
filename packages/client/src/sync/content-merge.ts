import {
  type BlobRef,
  type CollectionType,
  canonicalJson,
  type MergeConflict,
  mergeIcalendar,
  mergeVcard,
} from '@holdfast/protocol';

/** One side of a merge: an item's content and, for photos, its blob. */
export interface MergeSideValue {
  content: unknown;
  blob: BlobRef | null;
  /** When this side was written (ms since the epoch): the local edit, or the server's revision time. */
  time: number;
}

/** What `mergeContent` decided. */
export interface MergeOutcome {
  content: unknown;
  blob: BlobRef | null;
  /**
   * `fields`: merged field by field (contacts, events, tasks);
   * `last_writer_wins`: one whole side won (notes, messages, photos);
   * `merge_failed`: the text could not be merged field by field, so the later write won whole.
   */
  kind: 'fields' | 'last_writer_wins' | 'merge_failed';
  winner: 'local' | 'remote';
  /** The whole copy that lost (last_writer_wins, merge_failed), else null. */
  losingContent: unknown;
  /** Values the field-level merge did not keep. */
  fields: MergeConflict[];
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Later write wins; on a tie the server's copy wins, so every device picks the same one. */
function lastWriterWins(local: MergeSideValue, remote: MergeSideValue, kind: MergeOutcome['kind']): MergeOutcome {
  const localWins = local.time > remote.time;
  const [winner, loser] = localWins ? [local, remote] : [remote, local];
  const identical = same(winner.content, loser.content) && winner.blob?.sha256 === loser.blob?.sha256;
  return {
    content: winner.content,
    blob: winner.blob,
    kind,
    winner: localWins ? 'local' : 'remote',
    losingContent: identical ? null : loser.content,
    fields: [],
  };
}

/**
 * Three-way merge of one item whose local edit crossed a remote one. This is
 * the one place the SDK calls the protocol's merge functions:
 * contacts go through `mergeVcard`, calendars and tasks through
 * `mergeIcalendar` (field by field, losers returned as conflicts); notes,
 * messages and photos are last-writer-wins with the loser kept whole.
 * `base` is the content both sides started from, or null when unknown.
 */
export function mergeContent(
  type: CollectionType,
  base: unknown,
  local: MergeSideValue,
  remote: MergeSideValue,
): MergeOutcome {
  const merge = type === 'contacts' ? mergeVcard : type === 'calendar' || type === 'tasks' ? mergeIcalendar : null;
  if (!merge) return lastWriterWins(local, remote, 'last_writer_wins');
  if (typeof local.content !== 'string' || typeof remote.content !== 'string') {
    return lastWriterWins(local, remote, 'merge_failed');
  }
  try {
    const result = merge(typeof base === 'string' ? base : null, local.content, remote.content, {
      localTime: local.time,
      remoteTime: remote.time,
    });
    return {
      content: result.merged,
      blob: null,
      kind: 'fields',
      winner: 'local',
      losingContent: null,
      fields: result.conflicts,
    };
  } catch {
    // Text the field merge cannot read faithfully (e.g. vCard 2.1 quoted-printable) is never half-merged.
    return lastWriterWins(local, remote, 'merge_failed');
  }
}
