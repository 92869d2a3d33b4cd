import { readComponents } from './content-lines.js';
import { summarizeContact } from './duplicates.js';
import { semanticProperty } from './semantic.js';

/** What the contact list shows and searches: read from one vCard. */
export interface ContactListing {
  /** The display name: FN, else N, else the organization, else the first email or phone. */
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string | null;
}

/** The listing of a vCard; a card the tolerant reader cannot read lists with no fields rather than failing a write. */
export function contactListing(text: string): ContactListing {
  let summary: ReturnType<typeof summarizeContact>;
  let organization: string | null = null;
  try {
    summary = summarizeContact(text);
    const card = readComponents(text, { bareNames: true })[0];
    const org = card?.properties.find((line) => line.name.toUpperCase() === 'ORG');
    if (org) {
      const parts = semanticProperty(org)
        .value.map((v) => v.trim())
        .filter(Boolean);
      organization = parts.length > 0 ? parts.join(', ') : null;
    }
  } catch {
    return { name: '', nicknames: [], phones: [], emails: [], organization: null };
  }
  const name = summary.fn || organization || summary.emails[0] || summary.tels[0] || '';
  return { name, nicknames: summary.nicknames, phones: summary.tels, emails: summary.emails, organization };
}

/** Lower case, accents gone, whitespace collapsed: how names and queries are compared. */
export function searchText(value: string): string {
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
