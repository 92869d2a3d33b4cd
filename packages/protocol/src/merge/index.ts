export { type EditDeleteResolution, resolveEditDelete } from './edit-delete.js';
export { mergeIcalendar } from './icalendar-merge.js';
export type { ComponentRef, MergeConflict, MergeOptions, MergeResult, MergeSide } from './merge-result.js';
export { normalizeAddress, normalizeEmail, normalizeTel } from './normalize-value.js';
export { mergeVcard } from './vcard-merge.js';
