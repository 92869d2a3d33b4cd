import type { FieldCounts } from '../bundle/field-counts.js';
import { type ContentComponent, readComponents, upperCase } from './content-lines.js';
import { semanticValue } from './semantic.js';

/** What the contact list shows and searches: read from one vCard. */
export interface ContactListing {
  /** The display name: FN, else N, else the organization, else the first email or phone. */
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string | null;
  /** The card's field counts (bundle/field-counts.ts), when the write that read the card counted them. */
  fields?: FieldCounts;
}

const LISTED = new Set(['FN', 'N', 'NICKNAME', 'TEL', 'EMAIL', 'ORG']);

/**
 * The listing of a vCard, read in one pass (it runs in every write of a
 * contact), with the same readings as the duplicate finder's
 * summarizeContact. A card the tolerant reader cannot read lists with no
 * fields rather than failing the write.
 */
export function contactListing(text: string): ContactListing {
  try {
    return contactListingOf(readComponents(text, { bareNames: true })[0]);
  } catch {
    return EMPTY_LISTING();
  }
}

const EMPTY_LISTING = (): ContactListing => ({ name: '', nicknames: [], phones: [], emails: [], organization: null });

/** `contactListing` of a card already read (the write that validated it passes it on). */
export function contactListingOf(card: ContentComponent | undefined): ContactListing {
  const out = {
    fn: '',
    family: '',
    given: '',
    nicknames: [] as string[],
    phones: [] as string[],
    emails: [] as string[],
  };
  let organization: string | null = null;
  try {
    for (const line of card?.properties ?? []) {
      const name = upperCase(line.name);
      if (!LISTED.has(name)) continue;
      const value = semanticValue(line);
      const joined = value.join(';').trim();
      if (name === 'FN') out.fn ||= joined;
      else if (name === 'N') [out.family = '', out.given = ''] = value.map((v) => v.trim());
      else if (name === 'NICKNAME')
        out.nicknames.push(
          ...value
            .join(';')
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean),
        );
      else if (name === 'TEL' && joined) out.phones.push(joined);
      else if (name === 'EMAIL' && joined) out.emails.push(joined);
      else if (name === 'ORG' && organization === null) {
        const parts = value.map((v) => v.trim()).filter(Boolean);
        organization = parts.length > 0 ? parts.join(', ') : null;
      }
    }
  } catch {
    return EMPTY_LISTING();
  }
  const fn = out.fn || [out.given, out.family].filter(Boolean).join(' ');
  const name = fn || organization || out.emails[0] || out.phones[0] || '';
  return { name, nicknames: out.nicknames, phones: out.phones, emails: out.emails, organization };
}

/** Printable ASCII, tabs and line breaks: text NFKD leaves as it is. */
const ASCII = /^[\t\n\r -~]*$/;

/** Lower case, accents gone, whitespace collapsed: how names and queries are compared. */
export function searchText(value: string): string {
  // ASCII is its own NFKD form and holds no combining marks: the common case skips both passes.
  if (ASCII.test(value)) return value.toLowerCase().replace(/\s+/g, ' ').trim();
  return value.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The digits of a phone number or a phone-like query with leading zeros
 * dropped, so "+44 20 7946 0000", "020 7946 0000" and "(0)20-7946-0000"
 * meet in "2079460000" (a trunk or international prefix is not part of it).
 */
export function phoneDigits(value: string): string {
  return value.replace(/\D/g, '').replace(/^0+/, '');
}

/** A query that reads as a phone number: digits and the punctuation people write them with, and enough digits. */
export function phoneQuery(query: string): string | null {
  if (!/^[\d\s()+\-./]+$/.test(query)) return null;
  const digits = phoneDigits(query);
  return digits.length >= 3 ? digits : null;
}

/** How a listing is stored in the search index: the fields, their search forms and the sort key. */
export function indexedContact(listing: ContactListing) {
  const text = [listing.name, ...listing.nicknames, ...listing.emails, listing.organization ?? '']
    .map(searchText)
    .filter(Boolean)
    .join('\n');
  return {
    name: listing.name,
    // Named contacts first, by name; the nameless after them.
    sort_key: listing.name ? `0${searchText(listing.name)}` : '1',
    nicknames: JSON.stringify(listing.nicknames),
    phones: JSON.stringify(listing.phones),
    emails: JSON.stringify(listing.emails),
    organization: listing.organization,
    search_text: text,
    // Leading and trailing spaces so a number's digits are searched within it, never across two numbers.
    phone_digits: ` ${listing.phones.map((p) => p.replace(/\D/g, '')).join(' ')} `,
  };
}
