import { AppError, loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { type ContentComponent, ContentLineError, readComponents } from './content-lines.js';
import { toJcal } from './jcal.js';
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

/** `readVcard`, with the card as read, for what else is derived from it in the same write. */
export function readVcardCard(text: string): { meta: VcardMeta; card: ContentComponent } {
  const card = readSingleCard(text);
  const version = versionOf(card);
  if (version !== null && !VERSIONS.has(version)) {
    throw invalid(`unsupported vCard version '${version}' (2.1, 3.0 and 4.0 are accepted)`);
  }
  const designSet = version === '4.0' ? loadIcal().design.vcard : loadIcal().design.vcard3;
  const jcal = withLine(() => toJcal(card, designSet));
  // Property names straight from the jCard: asking the component would build an ICAL.Property for each.
  const informative = jcal[1].some((p) => !CARD_FRAME.has((p as [string])[0]));
  const component = new (loadIcal().Component)(jcal);
  if (!informative) throw invalid('an empty contact: the vCard has no properties besides VERSION, UID and PRODID');
  return { meta: { uid: textOf(component, 'uid'), fn: textOf(component, 'fn'), version }, card };
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
  const line = card.properties.find((p) => p.group === null && p.name.toUpperCase() === 'VERSION');
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
