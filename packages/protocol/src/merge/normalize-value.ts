/**
 * Splits a raw (still escaped) value at every `separator` that is not escaped
 * with a backslash. The pieces keep their escapes.
 */
export function splitEscaped(value: string, separator: ',' | ';'): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '\\') i++;
    else if (char === separator) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

/** Decodes TEXT escapes (`\\`, `\;`, `\,`, `\:`, `\n`, `\N`) of vCard and iCalendar values. */
export function unescapeText(value: string): string {
  return value.replace(/\\(.)/g, (_match, char: string) => (char === 'n' || char === 'N' ? '\n' : char));
}

/** Trims and collapses runs of white space (including line breaks) to one space. */
function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Identity of free text: unescaped, trimmed, inner white space collapsed. */
export function normalizeText(raw: string): string {
  return collapse(unescapeText(raw));
}

/**
 * Identity of a phone number: a `tel:` prefix and the separators people and
 * clients insert (spaces, dashes, parentheses, dots, slashes) are dropped, a
 * leading `+` is kept, letters are lower-cased. `+1 (555) 010-0199` and
 * `tel:+1-555-010-0199` are the same number; `555 0100` and `+1 555 0100`
 * are not, because no country is assumed.
 */
export function normalizeTel(raw: string): string {
  return unescapeText(raw)
    .trim()
    .toLowerCase()
    .replace(/^tel:/, '')
    .replace(/[\s\-().\u00a0/]/g, '');
}

/** Identity of an email address: trimmed, without `mailto:`, lower-cased. */
export function normalizeEmail(raw: string): string {
  return unescapeText(raw)
    .trim()
    .toLowerCase()
    .replace(/^mailto:/, '');
}

/** Identity of a calendar user address (ATTENDEE, ORGANIZER): as an email. */
export function normalizeCalAddress(raw: string): string {
  return normalizeEmail(raw);
}

/**
 * Identity of a structured ADR value: each component unescaped and
 * collapsed, trailing empty components dropped (clients disagree on how many
 * they write).
 */
export function normalizeAddress(raw: string): string {
  const parts = splitEscaped(raw, ';').map(normalizeText);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.join(';');
}
