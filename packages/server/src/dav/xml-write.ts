/*
 * DAV responses are written here by hand rather than with fast-xml-parser's
 * XMLBuilder (the parser is used for requests). Responses are streamed one
 * `<d:response>` at a time from fragments properties produce as they are
 * read, and each `build()` call has a fixed cost (a fresh path matcher and
 * name validator) that such small pieces pay over and over. Measured as CPU
 * time over 3000 contacts (3.5 MB), median of 15 runs, three alternating
 * rounds: a full sync (sync-collection with address-data) took 64-69 ms
 * written here, 73-91 ms with the builder writing each response around these
 * fragments, 83-99 ms with it writing every element; PROPFIND depth 1 took
 * 42-49 ms, 50-56 ms and 60-67 ms. Its escaping would not do as it is
 * either: its entity table is one list for text and attributes alike, so the
 * line feeds and tabs attribute values must carry as references (parsers turn
 * literal ones into spaces) would be escaped in item data too.
 */

/** Namespaces the DAV server speaks, with the prefixes its responses use. */
export const DAV = 'DAV:';
export const CARDDAV = 'urn:ietf:params:xml:ns:carddav';
export const CALDAV = 'urn:ietf:params:xml:ns:caldav';
export const CALSERVER = 'http://calendarserver.org/ns/';
export const APPLE_ICAL = 'http://apple.com/ns/ical/';
export const HOLDFAST = 'https://holdfast.dev/ns/dav';

const PREFIXES = new Map<string, string>([
  [DAV, 'd'],
  [CARDDAV, 'card'],
  [CALDAV, 'cal'],
  [CALSERVER, 'cs'],
  [APPLE_ICAL, 'ical'],
  [HOLDFAST, 'hf'],
]);

/** Declarations of every known prefix, for a response's root element. */
export const NAMESPACE_DECLARATIONS = [...PREFIXES].map(([ns, prefix]) => ` xmlns:${prefix}="${ns}"`).join('');

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';

export interface QName {
  ns: string;
  name: string;
}

/** A map key for a qualified name: `{ns}name` (Clark notation). */
export function clark(ns: string, name: string): string {
  return `{${ns}}${name}`;
}

/**
 * Characters XML 1.0 cannot carry at all, not even as character references
 * (its Char production): the C0 controls other than tab, line feed and
 * carriage return, the non-characters U+FFFE and U+FFFF, and unpaired
 * surrogates. Text containing them would make the whole response unparseable,
 * so they become U+FFFD. The pattern is assembled from code points because a
 * regex literal spelling out control characters normally signals a mistake;
 * here they are exactly what is meant.
 */
const FORBIDDEN_RANGES: [number, number][] = [
  [0x00, 0x08],
  [0x0b, 0x0c],
  [0x0e, 0x1f],
  [0xfffe, 0xffff],
];
const unicodeEscape = (code: number): string => `\\u${code.toString(16).padStart(4, '0')}`;
const NOT_XML = new RegExp(
  [
    `[${FORBIDDEN_RANGES.map(([from, to]) => `${unicodeEscape(from)}-${unicodeEscape(to)}`).join('')}]`,
    '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])',
    '(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]',
  ].join('|'),
  'g',
);

// A quick screen for the rare text that needs repair: a forbidden character or any surrogate (usually a well-paired one).
const HAS_NOT_XML = new RegExp(
  `[${[...FORBIDDEN_RANGES, [0xd800, 0xdfff] as [number, number]].map(([from, to]) => `${unicodeEscape(from)}-${unicodeEscape(to)}`).join('')}]`,
);
const HAS_TEXT_SPECIAL = /[&<>\r]/;
// The ampersand first, so the escapes themselves are not escaped again.
const TEXT_ESCAPES: [string, string][] = [
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['\r', '&#13;'],
];

/**
 * Escapes text content. CR is written as `&#13;` because XML parsers turn a
 * literal CRLF into LF: this way calendar-data and address-data arrive with
 * exactly the line endings the client stored.
 */
export function escapeText(text: string): string {
  // Item data is most of a large response: one pass for the usual case, the rare repair only when needed.
  const clean = HAS_NOT_XML.test(text) ? text.replace(NOT_XML, '\uFFFD') : text;
  if (!HAS_TEXT_SPECIAL.test(clean)) return clean;
  // One replaceAll per character present: cheaper than a replace calling back for each match (a vCard has a CR on every line).
  let out = clean;
  for (const [char, reference] of TEXT_ESCAPES) if (out.includes(char)) out = out.replaceAll(char, reference);
  return out;
}

export function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** An element; `inner` is already-serialised content (use escapeText for text). */
export function element(ns: string, name: string, inner = '', attributes: Record<string, string> = {}): string {
  const prefix = PREFIXES.get(ns);
  const tag = prefix ? `${prefix}:${name}` : `x:${name}`;
  const declaration = prefix ? '' : ` xmlns:x="${escapeAttribute(ns)}"`;
  const attrs = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${escapeAttribute(value)}"`)
    .join('');
  return inner === '' ? `<${tag}${declaration}${attrs}/>` : `<${tag}${declaration}${attrs}>${inner}</${tag}>`;
}

export function d(name: string, inner = ''): string {
  return element(DAV, name, inner);
}

export function hrefElement(href: string): string {
  return d('href', escapeText(href));
}

const REASONS: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  424: 'Failed Dependency',
  507: 'Insufficient Storage',
};

export function statusLine(code: number): string {
  return d('status', `HTTP/1.1 ${code} ${REASONS[code] ?? 'Unknown'}`);
}

/** Properties grouped by the status they came back with. */
export type PropStats = Map<number, string[]>;

/** One `<d:response>` with propstats. */
export function propResponse(href: string, propstats: PropStats): string {
  let inner = hrefElement(href);
  for (const [status, props] of propstats) {
    if (props.length === 0) continue;
    inner += d('propstat', d('prop', props.join('')) + statusLine(status));
  }
  return d('response', inner);
}

/** A `<d:response>` carrying only a status, e.g. 404 for a deleted member; `error` names a precondition. */
export function statusResponse(href: string, status: number, error?: QName): string {
  const condition = error ? d('error', element(error.ns, error.name)) : '';
  return d('response', hrefElement(href) + statusLine(status) + condition);
}

export const MULTISTATUS_OPEN = `${XML_DECLARATION}<d:multistatus${NAMESPACE_DECLARATIONS}>`;
export const MULTISTATUS_CLOSE = '</d:multistatus>';

/** A `<d:error>` body naming a failed precondition, with a human-readable message. */
export function errorBody(precondition: QName | null, message: string): string {
  const condition = precondition ? element(precondition.ns, precondition.name) : '';
  return `${XML_DECLARATION}<d:error${NAMESPACE_DECLARATIONS}>${condition}${element(HOLDFAST, 'message', escapeText(message))}</d:error>`;
}
