import { AppError, bareParamName, loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import {
  type ContentComponent,
  type ContentLine,
  ContentLineError,
  type ContentParam,
  readComponents,
  upperCase,
} from './content-lines.js';
import { type DesignSet, toJcal } from './jcal.js';
import { decodeQuotedPrintable } from './quoted-printable.js';

/** Searchable fields of a contact. `version` is null when the card has no VERSION line. */
export interface VcardMeta {
  uid: string | null;
  fn: string | null;
  version: string | null;
}

const VERSIONS = new Set(['2.1', '3.0', '4.0']);
const CARD_FRAME = new Set(['version', 'uid', 'prodid', 'rev']);

/**
 * Validates one contact (exactly one vCard 2.1, 3.0 or 4.0 that says
 * something about someone) and returns its searchable fields. A card without
 * FN or N is accepted: phones really hold e-mail-only or company-only
 * contacts, and refusing them would leave them out of every copy. Throws AppError('invalid_content') naming
 * the problem and, where there is one, its line.
 */
export function readVcard(text: string): VcardMeta {
  return readVcardCard(text).meta;
}

/**
 * `readVcard`, with the card as read, for what else is derived from it in the same write. `parseEveryLine`
 * asks ical.js about every line, also those it cannot refuse: what the shortcut is tested against.
 */
export function readVcardCard(
  text: string,
  options: { parseEveryLine?: boolean } = {},
): { meta: VcardMeta; card: ContentComponent } {
  const card = readSingleCard(text);
  const version = versionOf(card);
  if (version !== null && !VERSIONS.has(version)) {
    throw invalid(`unsupported vCard version '${version}' (2.1, 3.0 and 4.0 are accepted)`);
  }
  const designSet = version === '4.0' ? loadIcal().design.vcard : loadIcal().design.vcard3;
  const skip = options.parseEveryLine ? undefined : (line: ContentLine) => readsAsPlainText(line, designSet);
  const jcal = withLine(() => toJcal(card, designSet, skip ? { skip } : {}));
  // Property names straight from the jCard (and the lines left unparsed): asking the component would build an
  // ICAL.Property for each.
  const informative =
    jcal[1].some((p) => !CARD_FRAME.has((p as [string])[0])) ||
    (skip !== undefined && card.properties.some((line) => skip(line) && !CARD_FRAME.has(line.name.toLowerCase())));
  const component = new (loadIcal().Component)(jcal);
  if (!informative) throw invalid('an empty contact: the vCard has no properties besides VERSION, UID and PRODID');
  return { meta: { uid: textOf(component, 'uid'), fn: textOf(component, 'fn'), version }, card };
}

const TOKEN = /^[A-Za-z0-9-]+$/;
/** Value types whose reader only unescapes (text) or drops backslashes (a vCard 3 phone number). */
const PLAIN_TYPES = new Set(['text', 'phone-number']);

/**
 * A TYPE parameter with one plain value (`TYPE=CELL`, or bare `CELL`): ical.js splits it off at its `=` and
 * reads it as text, which cannot fail, and it does not change how the value is read.
 */
function plainType(param: ContentParam): boolean {
  if (!TOKEN.test(param.value)) return false;
  return (param.name === null ? bareParamName(param.value) : upperCase(param.name)) === 'TYPE';
}

/**
 * Whether ical.js reads this line as text (or a value of unknown type) that it cannot refuse, so it need not
 * be asked: no parameters but plain TYPEs (nothing to misparse), a plain name and group (split by ical.js
 * exactly as here), a property of the design set typed text or phone number and never typed by its value, or
 * one the design set does not know. Such a value is only unescaped, which cannot fail. UID and FN are always
 * parsed: their values are read.
 */
function readsAsPlainText(line: ContentLine, designSet: DesignSet): boolean {
  if (!TOKEN.test(line.name) || (line.group !== null && !TOKEN.test(line.group))) return false;
  for (const param of line.params) if (!plainType(param)) return false;
  const name = line.name.toLowerCase();
  if (name === 'uid' || name === 'fn' || name === 'begin' || name === 'end') return false;
  const { property, value } = designSet as unknown as {
    property: Record<string, { defaultType?: string; detectType?: unknown }>;
    value: Record<string, unknown>;
  };
  if (Object.hasOwn(property, name)) {
    const details = property[name] as { defaultType?: string; detectType?: unknown };
    return PLAIN_TYPES.has(details.defaultType ?? '') && !('detectType' in details);
  }
  // Unknown to the design set: ical.js keeps the text as it is (type "unknown", which has no reader).
  return !(name in property) && !('unknown' in value);
}

function readSingleCard(text: string): ContentComponent {
  const cards = withLine(() => readComponents(text, { bareNames: true }));
  const first = cards[0];
  if (!first) throw invalid('not a vCard: no BEGIN:VCARD found');
  const other = cards.find((card) => card.name !== 'VCARD');
  if (other) throw invalid(`not a vCard: line ${other.line}: expected BEGIN:VCARD, found BEGIN:${other.name}`);
  if (cards.length > 1) {
    const lines = cards.map((card) => card.line).join(', ');
    throw invalid(
      `one contact per item: found ${cards.length} vCards (BEGIN:VCARD at lines ${lines}); push each as its own item`,
    );
  }
  return first;
}

function versionOf(card: ContentComponent): string | null {
  const line = card.properties.find((p) => p.group === null && upperCase(p.name) === 'VERSION');
  return line ? line.value.trim() : null;
}

/** Runs a reading step, turning line-level problems into invalid_content. */
function withLine<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ContentLineError) throw invalid(`not a vCard: ${error.message}`);
    throw error;
  }
}

/** A text property as a reader would show it: QUOTED-PRINTABLE decoded, escapes undone. */
function textOf(component: ICAL.Component, name: string): string | null {
  const property = component.getFirstProperty(name);
  if (!property) return null;
  const value = property.getFirstValue();
  const text = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
  const encoding = property.getParameter('encoding');
  if (typeof encoding !== 'string' || encoding.toUpperCase() !== 'QUOTED-PRINTABLE') return text;
  const charset = property.getParameter('charset');
  return decodeQuotedPrintable(text, typeof charset === 'string' ? charset : null);
}

function invalid(message: string): AppError {
  return new AppError('invalid_content', message);
}
