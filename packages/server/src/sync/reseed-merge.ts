import {
  type CollectionType,
  foldLine,
  mergeIcalendar,
  mergeVcard,
  parseContentLine,
  unfoldLines,
} from '@holdfast/protocol';
import {
  componentKey,
  diffProperties,
  propertyKey,
  semanticComponents,
  semanticProperty,
} from '../content/semantic.js';

/**
 * What a re-seeded copy becomes when the server already holds a different
 * one. Contacts, events and tasks are merged field by field with no base (the
 * common ancestor was lost with the server's data): sets are unioned, so no
 * phone number or attendee either side had is dropped, and single-valued
 * fields go to the device's copy, which is the newer one. Other types keep
 * the device's copy; the server's stays in the item's history either way.
 * Unparseable content also falls back to the device's copy, never to a loss.
 *
 * The device's bytes are kept as sent wherever the merge allows: when the
 * merge says what the device's copy says, the device's copy is stored; when it
 * only adds properties to a card, they are added to the device's text.
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
    if (type === 'contacts') return asSent(deviceText, mergeVcard(null, deviceText, serverText, options).merged, true);
    if (type === 'calendar' || type === 'tasks') {
      return asSent(deviceText, mergeIcalendar(null, deviceText, serverText, options).merged, false);
    }
  } catch (error) {
    onFallback(error instanceof Error ? error.message : String(error));
    return deviceText;
  }
  return deviceText;
}

/** The merge written as the device's text where that says the same (plus, for a card, the lines it lacks). */
function asSent(deviceText: string, merged: string, card: boolean): string {
  const device = semanticComponents(deviceText);
  const result = semanticComponents(merged);
  if (sameComponents(device, result)) return deviceText;
  const [deviceCard] = device;
  const [resultCard] = result;
  if (!card || device.length !== 1 || result.length !== 1 || !deviceCard || !resultCard) return merged;
  if (deviceCard.components.length > 0 || resultCard.components.length > 0) return merged;
  const { missing, added } = diffProperties(deviceCard.properties, resultCard.properties);
  if (missing.length > 0 || added.length === 0) return merged;
  const wanted = new Map<string, number>();
  for (const p of added) wanted.set(propertyKey(p), (wanted.get(propertyKey(p)) ?? 0) + 1);
  const lines: string[] = [];
  for (const raw of unfoldLines(merged)) {
    const key = propertyKey(semanticProperty(parseContentLine(raw, { bareNames: true })));
    const n = wanted.get(key) ?? 0;
    if (n === 0) continue;
    wanted.set(key, n - 1);
    lines.push(raw.text);
  }
  const end = /^END[ \t]*:[ \t]*VCARD[ \t]*(\r\n|\n|\r)?$(?![\s\S]*^END[ \t]*:)/im.exec(deviceText);
  if (!end || lines.length !== added.length) return merged;
  const eol = /\r\n|\n|\r/.exec(deviceText)?.[0] ?? '\r\n';
  const inserted = lines.map((line) => `${foldLine(line, eol)}${eol}`).join('');
  return `${deviceText.slice(0, end.index)}${inserted}${deviceText.slice(end.index)}`;
}

function sameComponents(a: ReturnType<typeof semanticComponents>, b: ReturnType<typeof semanticComponents>): boolean {
  return a.length === b.length && a.every((c, i) => componentKey(c) === componentKey(b[i] as (typeof b)[number]));
}
