/**
 * One of the two replicas being merged. By convention a client passes its own
 * copy as `local` and the server's as `remote`; the server passes the stored
 * copy as `remote` and the incoming write as `local`.
 */
export type MergeSide = 'local' | 'remote';

/**
 * When each side was written, in any monotonic unit both sides share (HLC
 * wall time or epoch milliseconds). A field both sides changed goes to the
 * later write; equal or missing times go to `remote`, so every replica picks
 * the same winner.
 */
export interface MergeOptions {
  localTime?: number;
  remoteTime?: number;
}

/**
 * The nested component a conflict happened in (iCalendar): a VEVENT, VTODO,
 * VTIMEZONE or VALARM named by its UID and RECURRENCE-ID where it has them.
 */
export interface ComponentRef {
  /** Upper-case component name, e.g. `VEVENT`. */
  name: string;
  /** The UID, or the TZID for a VTIMEZONE. */
  uid: string | null;
  /** The RECURRENCE-ID value of an overridden occurrence, as written. */
  recurrenceId: string | null;
}

/**
 * A value the merge did not keep, so it can be stored with the revision and
 * shown to the user. Values are content lines (`TEL;TYPE=cell:+1 555 0100`),
 * several joined with CRLF when a property repeats or a group travels
 * together; a whole component is its `BEGIN`…`END` text.
 *
 * - `concurrent_edit`: both sides changed the same field differently; the
 *   later write won.
 * - `edit_over_delete`: one side deleted what the other changed; the change
 *   was kept (`losingValue` is null: the delete lost).
 */
export interface MergeConflict {
  /** Components from the root down to where the conflict is; empty for vCard and VCALENDAR lines. */
  path: ComponentRef[];
  /** Upper-case property name, or null when a whole component conflicted. */
  property: string | null;
  /** The vCard group on the winning side (`item1`), if the property was grouped. */
  group: string | null;
  /** The normalised value that identifies a multi-valued entry (`+15550100`); null for single-valued fields. */
  key: string | null;
  kind: 'concurrent_edit' | 'edit_over_delete';
  winner: MergeSide;
  winningValue: string;
  losingValue: string | null;
}

/** The merged text and every value it does not carry. */
export interface MergeResult {
  merged: string;
  conflicts: MergeConflict[];
}
