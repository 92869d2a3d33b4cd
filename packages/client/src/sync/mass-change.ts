import type { CollectionType } from '@holdfast/protocol';
import type { MassChangeLimit } from './sync-context.js';

/**
 * The default guard: one sync may delete or blank at most 50 items or 10 % of
 * the replica, whichever is larger. The floor keeps everyday deletions on a
 * small replica (a few contacts) from tripping the guard; the share keeps a
 * large replica from losing thousands of items in one step. Both are far
 * below the 90 % others used, which let most of a replica go unasked.
 */
export const DEFAULT_MASS_CHANGE_LIMIT: MassChangeLimit = { ratio: 0.1, minItems: 50 };

/** The most deletions plus blankings one sync may apply to a replica with `liveItems` live items. */
export function massChangeLimit(liveItems: number, limit: MassChangeLimit): number {
  return Math.max(limit.minItems, Math.ceil(limit.ratio * liveItems));
}

/** Unfolded content lines of vCard/iCalendar text. */
function lines(text: string): string[] {
  return text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
}

/** True if some line is property `names` (optionally grouped) with a non-empty value. */
function hasValue(text: string, names: readonly string[]): boolean {
  const pattern = new RegExp(`^(?:[A-Za-z0-9-]+\\.)?(?:${names.join('|')})(?:;[^:]*)?:(.*)$`, 'i');
  return lines(text).some((line) => {
    const match = pattern.exec(line);
    return match !== null && (match[1] ?? '').replace(/[;,\s]/g, '') !== '';
  });
}

function substance(type: CollectionType, content: unknown): boolean {
  if (typeof content === 'string') {
    if (type === 'contacts') return hasValue(content, ['TEL', 'EMAIL', 'ADR']);
    return hasValue(content, ['SUMMARY', 'DESCRIPTION', 'DTSTART', 'DUE']);
  }
  if (content === null || typeof content !== 'object') return false;
  const value = content as Record<string, unknown>;
  if (type === 'notes') return `${value.title ?? ''}${value.body ?? ''}`.trim() !== '';
  if (type === 'messages') {
    return `${value.body ?? ''}`.trim() !== '' || (Array.isArray(value.attachments) && value.attachments.length > 0);
  }
  return true;
}

/**
 * True if replacing `before` with `after` blanks the item: a contact that had
 * a phone number, email or address and has none; an event or task that loses
 * its summary, description and start; a note or message emptied. This is the
 * Sidekick symptom ("names with blank numbers") the guard also stops.
 */
export function isBlanking(type: CollectionType, before: unknown, after: unknown): boolean {
  return substance(type, before) && !substance(type, after);
}
