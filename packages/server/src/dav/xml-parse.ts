import { AppError } from '@holdfast/protocol';
import fxp from 'fast-xml-parser';

/** An XML element with its namespace resolved. Children of different names keep first-occurrence order. */
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
  const normalized = prescan(text, limits.maxDepth);
  const valid = fxp.validate(normalized);
  if (valid !== true) throw malformed(`${valid.err.msg} (line ${valid.err.line})`);
  const root = fxp.getTraversalObj(normalized, {
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseNodeValue: false,
    parseAttributeValue: false,
    // Text is kept as sent (calendar data ends with a line break); callers trim where whitespace is insignificant.
    trimValues: false,
    allowBooleanAttributes: false,
  }) as RawNode;
  const top = Object.values(root.child).flat();
  if (top.length !== 1 || !top[0]) throw malformed('expected exactly one root element');
  return resolve(top[0], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
}

interface RawNode {
  tagname: string;
  child: Record<string, RawNode[]>;
  attrsMap?: Record<string, string> | undefined;
  val?: unknown;
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
      out.push(text.slice(lt, skip));
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
  return value.replace(
    REFERENCE,
    (_all, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return NAMED[named] as string;
      return String.fromCodePoint(dec ? Number(dec) : Number.parseInt(hex as string, 16));
    },
  );
}

function resolve(node: RawNode, scope: Map<string, string>): XmlElement {
  const attrs = node.attrsMap ?? {};
  let inner = scope;
  const plain: Record<string, string> = {};
  for (const [key, raw] of Object.entries(attrs)) {
    const value = decode(String(raw));
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      if (inner === scope) inner = new Map(scope);
      inner.set(key === 'xmlns' ? '' : key.slice(6), value);
    } else {
      plain[key.includes(':') ? (key.split(':')[1] as string) : key] = value;
    }
  }
  const [prefix, local] = node.tagname.includes(':') ? node.tagname.split(':', 2) : ['', node.tagname];
  if (!local || !NAME.test(local)) throw malformed(`invalid element name '${node.tagname}'`);
  const ns = inner.get(prefix ?? '');
  if (ns === undefined && prefix) throw malformed(`undeclared namespace prefix '${prefix}'`);
  const children = Object.values(node.child)
    .flat()
    .map((child) => resolve(child, inner));
  const text = typeof node.val === 'string' ? decode(node.val) : '';
  return { ns: ns ?? '', name: local, attrs: plain, children, text };
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
