export { contentHash } from '@holdfast/protocol';
export { type CalendarKind, type CalendarMeta, readICalendar } from './icalendar.js';
export {
  type BlobInfo,
  decodeContent,
  type NormalizedContent,
  normalizeContent,
} from './normalize-content.js';
export { readPhotoMeta } from './photo-meta.js';
export { readVcard, type VcardMeta } from './vcard.js';
