import { createRequire } from 'node:module';
import { AppError } from '@holdfast/protocol';
import type { XMLParser } from 'fast-xml-parser';
import { parseSimpleXml } from './xml-parse-simple.js';

type FastXmlParser = typeof import('fast-xml-parser');
let loaded: FastXmlParser | undefined;
/**
 * The XML parser, loaded at the first DAV request body rather than at start (a server nobody syncs over DAV
 * never pays for it). Loaded with require because parsing is synchronous, as the S3 SDK is in the backup package.
 */
function xmlParser(): FastXmlParser {
  loaded ??= createRequire(import.meta.url)('fast-xml-parser') as FastXmlParser;
  return loaded;
}

/** An XML element with its namespace resolved. Children are in document order. */
export interface XmlElement {
  ns: string;
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 2 * 1024 * 1024, maxDepth: 32 };

const NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const REFERENCE = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));/g;
const ANY_AMPERSAND = /&/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Parses a DAV request body. Hostile input is refused before the parser sees
 * it: any `<!DOCTYPE`/`<!ENTITY` (so no external entities and no entity
 * expansion), references other than the five predefined entities and
 * character references, nesting deeper than `maxDepth`, and bodies over
 * `maxBytes`. The parser itself never expands entities.
 */
export function parseXml(body: Buffer, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  if (body.length > limits.maxBytes) {
    throw new AppError('payload_too_large', `XML request bodies are limited to ${limits.maxBytes} bytes.`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw malformed('the body is not valid UTF-8');
  }
  return parseSimpleXml(text, limits.maxDepth, predefinedNamespaces()) ?? parseXmlText(text, limits);
}

const predefinedNamespaces = () => new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]);

/** The general path: any XML DAV accepts, with its errors. Exported so tests can hold the plain reader to it. */
export function parseXmlText(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const normalized = prescan(text, limits.maxDepth);
  const valid = xmlParser().XMLValidator.validate(normalized);
  if (valid !== true) throw malformed(`${valid.err.msg} (line ${valid.err.line})`);
  let entries: unknown;
  try {
    entries = parserFor(limits.maxDepth).parse(normalized);
  } catch (error) {
    throw malformed(error instanceof Error ? error.message.replace(/\.$/, '') : 'the parser gave up');
  }
  const top = entriesOf(entries).filter(isElement);
  if (top.length !== 1 || !top[0]) throw malformed('expected exactly one root element');
  return resolve(top[0], predefinedNamespaces());
}

/*
 * The parser's ordered output is a list of entries: an element is
 * `{ [TAG + name]: entries, ':@'?: { [ATTRIBUTE + name]: value } }`, text is
 * `{ '#text': value }` and a CDATA section is `{ [CDATA]: [{ '#text': value }] }`.
 * Element and attribute names are prefixed so that no name from the document
 * is ever an object key on its own: `__proto__`, `constructor` and the like
 * stay ordinary names (the parser would otherwise refuse or rename them), and
 * no name can collide with `#text`, `#cdata` or `:@`. Neither prefix can start
 * an XML name, which keeps the tag transform idempotent: the parser applies it
 * twice to self-closing tags.
 */
const TAG = '<';
const ATTRIBUTE = '@';
const ATTRIBUTES = ':@';
const TEXT = '#text';
const CDATA = '#cdata';

type Entry = Record<string, unknown>;

const parsers = new Map<number, XMLParser>();

function parserFor(maxDepth: number): XMLParser {
  let parser = parsers.get(maxDepth);
  if (!parser) {
    parser = new (xmlParser().XMLParser)({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: ATTRIBUTE,
      allowBooleanAttributes: false,
      transformTagName: (name) => (name.startsWith(TAG) ? name : TAG + name),
      textNodeName: TEXT,
      cdataPropName: CDATA,
      parseTagValue: false,
      parseAttributeValue: false,
      // Text is kept as sent (calendar data ends with a line break); callers trim where whitespace is insignificant.
      trimValues: false,
      // References were vetted by prescan and are decoded by decode(); the parser must leave them as written.
      processEntities: false,
      htmlEntities: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      // prescan has already enforced the depth limit; this is a second line of defence.
      maxNestedTags: maxDepth,
    });
    parsers.set(maxDepth, parser);
  }
  return parser;
}

function entriesOf(value: unknown): Entry[] {
  return Array.isArray(value) ? value.filter((e): e is Entry => typeof e === 'object' && e !== null) : [];
}

function tagKey(entry: Entry): string | undefined {
  return Object.keys(entry).find((key) => key.startsWith(TAG));
}

function isElement(entry: Entry): boolean {
  return tagKey(entry) !== undefined;
}

/**
 * Walks the text once: rejects declarations and bad references, enforces the
 * depth limit, and turns tabs and line breaks inside tags into spaces (the
 * parser splits tag names on spaces only; XML normalises whitespace in
 * attribute values the same way).
 */
function prescan(text: string, maxDepth: number): string {
  const out: string[] = [];
  let depth = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt === -1 ? text.length : lt;
    checkReferences(text.slice(i, end));
    out.push(text.slice(i, end));
    if (lt === -1) break;
    const skip = skipSection(text, lt);
    if (skip !== null) {
      const section = text.slice(lt, skip);
      out.push(section.startsWith('<?') ? blankInstruction(section) : section);
      i = skip;
      continue;
    }
    if (text.startsWith('<!', lt)) throw malformed('document type and entity declarations are not accepted');
    const close = tagEnd(text, lt + 1);
    const tag = text.slice(lt, close + 1).replace(/[\t\r\n]/g, ' ');
    checkReferences(tag);
    if (tag.startsWith('</')) depth -= 1;
    else if (!tag.endsWith('/>')) {
      depth += 1;
      if (depth > maxDepth) throw malformed(`elements nest deeper than ${maxDepth} levels`);
    }
    out.push(tag);
    i = close + 1;
  }
  return out.join('');
}

/** The end of a comment, CDATA section or processing instruction starting at `at`, or null. */
function skipSection(text: string, at: number): number | null {
  const sections: [string, string][] = [
    ['<!--', '-->'],
    ['<![CDATA[', ']]>'],
    ['<?', '?>'],
  ];
  for (const [open, closing] of sections) {
    if (!text.startsWith(open, at)) continue;
    const found = text.indexOf(closing, at + open.length);
    if (found === -1) throw malformed(`unterminated ${open}`);
    return found + closing.length;
  }
  return null;
}

/**
 * A processing instruction with everything after its target turned into
 * spaces (line breaks kept, so error line numbers stay right). Instructions
 * are ignored, but the parser scans them for quoted attribute values, so an
 * apostrophe in one would otherwise carry it past the closing `?>`.
 */
function blankInstruction(section: string): string {
  const target = /^<\?[^\s?]*/.exec(section)?.[0] ?? '<?';
  return `${target}${section.slice(target.length, -2).replace(/[^\r\n]/g, ' ')}?>`;
}

function tagEnd(text: string, from: number): number {
  let quote = '';
  for (let j = from; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j;
    } else if (c === '<') {
      break;
    }
  }
  throw malformed('unterminated tag');
}

function checkReferences(segment: string): void {
  const ampersands = segment.match(ANY_AMPERSAND)?.length ?? 0;
  if (ampersands === 0) return;
  const references = [...segment.matchAll(REFERENCE)];
  if (references.length !== ampersands)
    throw malformed('only predefined entities and character references are allowed');
  for (const match of references) {
    if (match[1]) continue;
    const code = match[2] ? Number(match[2]) : Number.parseInt(match[3] as string, 16);
    if (!isXmlChar(code)) throw malformed(`character reference &#${code}; is not an XML character`);
  }
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function decode(value: string): string {
  // Most text and attribute values hold no reference at all.
  if (!value.includes('&')) return value;
  return value.replace(
    REFERENCE,
    (_all, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return NAMED[named] as string;
      return String.fromCodePoint(dec ? Number(dec) : Number.parseInt(hex as string, 16));
    },
  );
}

function resolve(entry: Entry, scope: Map<string, string>): XmlElement {
  const key = tagKey(entry) as string;
  const tagname = key.slice(TAG.length);
  const attrs = entry[ATTRIBUTES];
  let inner = scope;
  const plain: Record<string, string> = {};
  for (const [prefixed, raw] of Object.entries(typeof attrs === 'object' && attrs !== null ? attrs : {})) {
    if (!prefixed.startsWith(ATTRIBUTE)) continue;
    const name = prefixed.slice(ATTRIBUTE.length);
    const value = decode(String(raw));
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (inner === scope) inner = new Map(scope);
      inner.set(name === 'xmlns' ? '' : name.slice(6), value);
    } else {
      plain[name.includes(':') ? (name.split(':')[1] as string) : name] = value;
    }
  }
  const [prefix, local] = tagname.includes(':') ? tagname.split(':', 2) : ['', tagname];
  if (!local || !NAME.test(local)) throw malformed(`invalid element name '${tagname}'`);
  const ns = inner.get(prefix ?? '');
  if (ns === undefined && prefix) throw malformed(`undeclared namespace prefix '${prefix}'`);
  const children: XmlElement[] = [];
  let text = '';
  for (const child of entriesOf(entry[key])) {
    if (isElement(child)) children.push(resolve(child, inner));
    else if (typeof child[TEXT] === 'string') text += decode(child[TEXT]);
    else if (CDATA in child) text += cdataText(child[CDATA]);
  }
  return { ns: ns ?? '', name: local, attrs: plain, children, text };
}

/** The content of a CDATA section, taken literally: references in it are not decoded. */
function cdataText(value: unknown): string {
  return entriesOf(value)
    .map((part) => (typeof part[TEXT] === 'string' ? part[TEXT] : ''))
    .join('');
}

function malformed(reason: string): AppError {
  return new AppError('invalid_request', `Malformed XML: ${reason}.`);
}

/** The first child element with this namespace and name. */
export function childOf(element: XmlElement, ns: string, name: string): XmlElement | undefined {
  return element.children.find((c) => c.ns === ns && c.name === name);
}

/** Every child element with this namespace and name. */
export function childrenOf(element: XmlElement, ns: string, name: string): XmlElement[] {
  return element.children.filter((c) => c.ns === ns && c.name === name);
}
