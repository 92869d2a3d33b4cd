import { mergeDocument } from './document-merge.js';
import type { MergeOptions, MergeResult } from './merge-result.js';
import { vcardRules } from './property-rules.js';

/**
 * Three-way, field-level merge of one contact (one `BEGIN:VCARD` object, any
 * of vCard 3.0 and 4.0, and 2.1 where ical.js can read it).
 *
 * - Single-valued fields (FN, N, BDAY, ORG, TITLE, NOTE, PHOTO, …): the side
 *   that changed a field wins; if both changed it differently, the later
 *   write wins (`options`) and the other value is returned in `conflicts`.
 *   REV and PRODID go to the later write without a conflict.
 * - Multi-valued fields (TEL, EMAIL, ADR, URL, IMPP, RELATED, X-SOCIALPROFILE,
 *   every X- and unknown property) are add-wins sets keyed by normalised
 *   value (`normalizeTel`, `normalizeEmail`, `normalizeAddress`). A value is
 *   removed only if one side removed it and the other left it exactly as in
 *   base; a value one side removed and the other edited (type, label) is
 *   kept. CATEGORIES and NICKNAME merge item by item.
 * - Grouped lines (`item1.TEL` + `item1.X-ABLabel`) merge as one unit, so a
 *   label never moves to another number; a group name both sides used for
 *   different values is renamed on one of them.
 * - Parameters, groups and unknown properties are kept; values are copied
 *   as written, never re-formatted.
 *
 * When one side carries every change, its text is returned unchanged.
 * Otherwise the merged contact is written by ical.js: names upper-case,
 * parameters re-quoted where needed, lines folded, VERSION first; the result
 * is read back and must equal what was merged.
 *
 * `base` is the last version both sides had; pass `null` when there is none
 * (both created the contact offline), and nothing is treated as deleted.
 *
 * Throws `AppError('invalid_content')` for text ical.js cannot read
 * faithfully: vCard 2.1 bare parameters (`TEL;CELL:`), QUOTED-PRINTABLE
 * values, BASE64 data continued without folding, or not exactly one vCard.
 * Nothing is merged from such input, so nothing is dropped silently; decode
 * or upgrade such cards before merging.
 */
export function mergeVcard(
  base: string | null,
  local: string,
  remote: string,
  options: MergeOptions = {},
): MergeResult {
  return mergeDocument('vCard', vcardRules, base, local, remote, options);
}
