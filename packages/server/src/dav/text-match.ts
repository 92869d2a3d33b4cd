import { davError } from './dav-error.js';
import type { XmlElement } from './xml-parse.js';

export type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';

/** A `<text-match>` of CalDAV (substring only) or CardDAV (with match-type). */
export interface TextMatch {
  value: string;
  collation: string;
  negate: boolean;
  matchType: MatchType;
}

const COLLATIONS: Record<string, (text: string) => string> = {
  'i;octet': (text) => text,
  'i;ascii-casemap': (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase()),
  // RFC 5051 asks for titlecase folding after NFKD; case-insensitive comparison of the NFKD form is close enough.
  'i;unicode-casemap': (text) => text.normalize('NFKD').toUpperCase().toLowerCase(),
};

const MATCH_TYPES: ReadonlySet<string> = new Set(['equals', 'contains', 'starts-with', 'ends-with']);

/** Parses a text-match element; an unknown collation fails with the `supported-collation` precondition. */
export function parseTextMatch(element: XmlElement, defaultCollation: string, conditionNs: string): TextMatch {
  const collation = element.attrs.collation ?? defaultCollation;
  if (!COLLATIONS[collation]) {
    throw davError('forbidden', `Unsupported collation ${collation}.`, {
      ns: conditionNs,
      name: 'supported-collation',
    });
  }
  const matchType = element.attrs['match-type'] ?? 'contains';
  if (!MATCH_TYPES.has(matchType)) {
    throw davError('forbidden', `Unsupported match-type ${matchType}.`, { ns: conditionNs, name: 'supported-filter' });
  }
  return {
    value: element.text,
    collation,
    negate: element.attrs['negate-condition'] === 'yes',
    matchType: matchType as MatchType,
  };
}

export function textMatches(match: TextMatch, value: string): boolean {
  const fold = COLLATIONS[match.collation] ?? COLLATIONS['i;ascii-casemap'];
  const haystack = (fold as (text: string) => string)(value);
  const needle = (fold as (text: string) => string)(match.value);
  let result: boolean;
  switch (match.matchType) {
    case 'equals':
      result = haystack === needle;
      break;
    case 'starts-with':
      result = haystack.startsWith(needle);
      break;
    case 'ends-with':
      result = haystack.endsWith(needle);
      break;
    default:
      result = haystack.includes(needle);
  }
  return match.negate ? !result : result;
}
