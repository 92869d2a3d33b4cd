/*
 * A one-pass reader for the plain XML that DAV clients send: elements,
 * attributes and text without references, comments, CDATA or declarations
 * other than the leading `<?xml ...?>`. A multiget of a hundred hrefs is
 * that, and reading it through the validator and the general parser cost a
 * third of the request. Anything else, malformed or merely unusual, returns
 * null and is read by the general parser, which gives the errors; so this
 * reader only ever answers what the general one would.
 */
import type { XmlElement } from './xml-parse.js';

const NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const QNAME = '[A-Za-z_][\\w.-]*(?::[A-Za-z_][\\w.-]*)?';
// Control characters as pattern ranges, assembled from code points: the pattern means to exclude them.
const range = (from: number, to: number) =>
  `\\u${from.toString(16).padStart(4, '0')}-\\u${to.toString(16).padStart(4, '0')}`;
const VALUE_CONTROLS = range(0x00, 0x1f);
// Text keeps tab and line feed; a carriage return is left to the general parser, which normalises line ends.
const TEXT_CONTROLS = range(0x00, 0x08) + range(0x0b, 0x1f);
// A tag's name and attributes: `<name attr="value" ...>`, `/>` or `>` after optional whitespace.
const OPEN_TAG = new RegExp(
  `<(${QNAME})((?:[ \\t\\r\\n]+${QNAME}=(?:"[^"<>&${VALUE_CONTROLS}]*"|'[^'<>&${VALUE_CONTROLS}]*'))*)[ \\t\\r\\n]*(/?)>`,
  'y',
);
const ATTRIBUTE = new RegExp(`(${QNAME})=(?:"([^"]*)"|'([^']*)')`, 'g');
const CLOSE_TAG = new RegExp(`</(${QNAME})[ \\t\\r\\n]*>`, 'y');
const DECLARATION = /^\uFEFF?<\?xml[ \t\r\n][^?<>&]*\?>/;
// Text the general parser would keep as it is: no markup, references, carriage returns or control characters.
const PLAIN_TEXT = new RegExp(`[^<>&${TEXT_CONTROLS}\\ufffe\\uffff]*`, 'y');
const WHITESPACE = /^[ \t\r\n]*$/;

interface Open {
  tag: string;
  scope: Map<string, string>;
  element: XmlElement;
}

/** The document's root element, or null when the document is not of the plain kind read here. */
export function parseSimpleXml(text: string, maxDepth: number, scope: Map<string, string>): XmlElement | null {
  let i = DECLARATION.exec(text)?.[0].length ?? (text.charCodeAt(0) === 0xfeff ? 1 : 0);
  const stack: Open[] = [];
  let root: XmlElement | null = null;
  while (i < text.length) {
    PLAIN_TEXT.lastIndex = i;
    const run = PLAIN_TEXT.exec(text)?.[0] ?? '';
    const top = stack.at(-1);
    if (top) top.element.text += run;
    else if (!WHITESPACE.test(run)) return null;
    i += run.length;
    if (i >= text.length) break;
    if (text.charCodeAt(i) !== 0x3c /* < */) return null;
    if (text.charCodeAt(i + 1) === 0x2f /* / */) {
      CLOSE_TAG.lastIndex = i;
      const close = CLOSE_TAG.exec(text);
      const open = stack.pop();
      if (!close || !open || close[1] !== open.tag) return null;
      i = CLOSE_TAG.lastIndex;
      continue;
    }
    if (root && stack.length === 0) return null;
    OPEN_TAG.lastIndex = i;
    const match = OPEN_TAG.exec(text);
    if (!match) return null;
    i = OPEN_TAG.lastIndex;
    const [, tag, attributeText, selfClosing] = match as unknown as [string, string, string, string];
    const parentScope = top?.scope ?? scope;
    const opened = openElement(tag, attributeText, parentScope);
    if (!opened) return null;
    if (top) top.element.children.push(opened.element);
    else root = opened.element;
    if (!selfClosing) {
      if (stack.length + 1 > maxDepth) return null;
      stack.push(opened);
    }
  }
  return stack.length === 0 ? root : null;
}

function openElement(tag: string, attributeText: string, parentScope: Map<string, string>): Open | null {
  let inner = parentScope;
  const attrs: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [, name, double, single] of attributeText.matchAll(ATTRIBUTE)) {
    const key = name as string;
    if (seen.has(key)) return null;
    seen.add(key);
    const value = double ?? single ?? '';
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      if (inner === parentScope) inner = new Map(parentScope);
      inner.set(key === 'xmlns' ? '' : key.slice(6), value);
    } else {
      attrs[key.includes(':') ? (key.split(':')[1] as string) : key] = value;
    }
  }
  const [prefix, local] = tag.includes(':') ? (tag.split(':', 2) as [string, string]) : ['', tag];
  if (!NAME.test(local)) return null;
  const ns = inner.get(prefix);
  if (ns === undefined && prefix) return null;
  return { tag, scope: inner, element: { ns: ns ?? '', name: local, attrs, children: [], text: '' } };
}
