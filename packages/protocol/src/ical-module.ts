import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type ICAL from 'ical.js';

let loaded: typeof ICAL | undefined;

/**
 * ical.js, loaded the first time a vCard or iCalendar text is read or written rather than at start (a server
 * that serves no contacts or calendars never pays for it). The callers are synchronous, so it is required, as
 * the S3 SDK is in the backup package; it is the ES module build, resolved as `import` resolves it, so that this
 * and any `import 'ical.js'` share one copy.
 */
export function loadIcal(): typeof ICAL {
  loaded ??= (createRequire(import.meta.url)(fileURLToPath(import.meta.resolve('ical.js'))) as { default: typeof ICAL })
    .default;
  return loaded;
}
