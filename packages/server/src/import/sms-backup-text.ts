/**
 * SMS Backup & Restore writes characters outside the Basic Multilingual Plane
 * (emoji) as two numeric references, one per UTF-16 surrogate
 * (`&#55357;&#56832;`), which is not well-formed XML: a parser refuses the
 * file at the first emoji. These helpers join such pairs into one reference
 * to the character they stand for, chunk by chunk, and turn a lone surrogate
 * into a reference to U+FFFD. They stay references, for the parser to decode
 * within the attribute: the character itself would make the whole chunk, and
 * every string sliced from it, two bytes a character instead of one.
 */

// One reference, with a look at the one right after it (not consumed).
const REFERENCE = /&#(x[0-9a-fA-F]+|[0-9]+);(?=(?:&#(x[0-9a-fA-F]+|[0-9]+);)?)/g;

function codeOf(ref: string): number {
  return ref.startsWith('x') ? Number.parseInt(ref.slice(1), 16) : Number.parseInt(ref, 10);
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;

/** Rewrites surrogate references in `text` (which must not end inside a reference). */
export function joinSurrogateReferences(text: string): string {
  let skip = -1;
  return text.replace(REFERENCE, (whole, a: string, b: string | undefined, offset: number) => {
    if (offset === skip) return '';
    const first = codeOf(a);
    if (!isSurrogate(first)) return whole;
    const second = b === undefined ? null : codeOf(b);
    if (isHigh(first) && second !== null && isLow(second)) {
      skip = offset + whole.length;
      return `&#${0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)};`;
    }
    return '&#65533;';
  });
}

// Long enough for two references of any code point (`&#1114111;` is 10 characters).
const HOLD = 24;

/** The chunks of `source` with surrogate references joined, even across chunk boundaries. */
export async function* joinedChunks(source: AsyncIterable<string>): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of source) {
    const text = carry + chunk;
    // Hold back a tail that might be the start of a reference (or of its pair).
    const amp = text.lastIndexOf('&', text.length - 1);
    let cut = text.length;
    if (amp >= 0 && amp >= text.length - HOLD) cut = amp;
    // A complete reference just before the cut may be the first half of a pair.
    const before = /&#(?:x[0-9a-fA-F]+|[0-9]+);$/.exec(text.slice(0, cut));
    if (before) cut = before.index;
    carry = text.slice(cut);
    if (cut > 0) yield joinSurrogateReferences(text.slice(0, cut));
  }
  if (carry) yield joinSurrogateReferences(carry);
}
