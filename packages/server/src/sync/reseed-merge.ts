import { type CollectionType, mergeIcalendar, mergeVcard } from '@holdfast/protocol';

/**
 * What a re-seeded copy becomes when the server already holds a different
 * one. Contacts, events and tasks are merged field by field with no base (the
 * common ancestor was lost with the server's data): sets are unioned, so no
 * phone number or attendee either side had is dropped, and single-valued
 * fields go to the device's copy, which is the newer one. Other types keep
 * the device's copy; the server's stays in the item's history either way.
 * Unparseable content also falls back to the device's copy, never to a loss.
 */
export function reseedContent(
  type: CollectionType,
  serverText: string | null,
  deviceText: string,
  onFallback: (reason: string) => void = () => {},
): string {
  if (serverText === null) return deviceText;
  const options = { localTime: 1, remoteTime: 0 };
  try {
    if (type === 'contacts') return mergeVcard(null, deviceText, serverText, options).merged;
    if (type === 'calendar' || type === 'tasks') return mergeIcalendar(null, deviceText, serverText, options).merged;
  } catch (error) {
    onFallback(error instanceof Error ? error.message : String(error));
    return deviceText;
  }
  return deviceText;
}
