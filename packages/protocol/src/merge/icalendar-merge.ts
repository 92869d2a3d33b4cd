import { mergeDocument } from './document-merge.js';
import type { MergeOptions, MergeResult } from './merge-result.js';
import { icalendarRules } from './property-rules.js';

/**
 * Three-way, field-level merge of one iCalendar object (`BEGIN:VCALENDAR`
 * holding events, tasks, journals and their time zones).
 *
 * - Nested components are matched by name, UID and RECURRENCE-ID, so the
 *   series and each overridden occurrence merge separately. A component one
 *   side added is kept; one side deleted and the other left unchanged is
 *   dropped; one side deleted and the other changed is kept (a conflict).
 * - Within a component, single-valued properties (SUMMARY, DTSTART, DTEND,
 *   DUE, LOCATION, DESCRIPTION, STATUS, PRIORITY, RRULE, …) take the side that
 *   changed them, the later write when both did (the loser is a conflict).
 *   DTSTAMP, LAST-MODIFIED and CREATED follow the later write quietly;
 *   SEQUENCE takes the larger number.
 * - ATTENDEE (keyed by address, so PARTSTAT changes merge), ATTACH, COMMENT,
 *   CONTACT, RELATED-TO, every X- and unknown property are add-wins sets;
 *   CATEGORIES, RESOURCES, EXDATE and RDATE merge item by item; VALARMs are
 *   matched by UID (or X-WR-ALARMUID, else ACTION and TRIGGER) and merged.
 * - VTIMEZONE is kept; if both sides changed one, the later write's
 *   definition is used whole.
 *
 * See `mergeVcard` for `base`, `options`, the unchanged-side shortcut and the
 * `invalid_content` errors.
 */
export function mergeIcalendar(
  base: string | null,
  local: string,
  remote: string,
  options: MergeOptions = {},
): MergeResult {
  return mergeDocument('iCalendar', icalendarRules, base, local, remote, options);
}
