import { bareParamName, type ContentLine, loadIcal, readComponents, unquote } from '@holdfast/protocol';
import { decodeQuotedPrintable } from '../content/quoted-printable.js';
import { componentKey, type SemanticComponent, semanticComponents } from '../content/semantic.js';

/** Text properties whose commas are literal in 2.1 and must be escaped in 3.0 (RFC 2426 §4). */
const TEXT = new Set(['FN', 'N', 'NOTE', 'ADR', 'LABEL', 'ORG', 'TITLE', 'ROLE', 'SOUND']);
/** vCard 4.0 properties and parameters 3.0 has no words for (RFC 6350 §6, §5). */
const V4_PROPERTIES = new Set([
  'KIND',
  'GENDER',
  'ANNIVERSARY',
  'LANG',
  'XML',
  'CLIENTPIDMAP',
  'MEMBER',
  'RELATED',
  'FBURL',
  'CALADRURI',
  'CALURI',
]);
const V4_PARAMS = new Set([
  'PREF',
  'PID',
  'ALTID',
  'SORT-AS',
  'CALSCALE',
  'GEO',
  'TZ',
  'LABEL',
  'MEDIATYPE',
  'VALUE',
  'LANGUAGE',
  'INDEX',
  'LEVEL',
]);

/**
 * A card as vCard 3.0 (RFC 2426), or why it stays as it is. From 2.1: bare
 * parameters become `TYPE=`/`ENCODING=`, QUOTED-PRINTABLE values are decoded
 * with their CHARSET and written as escaped UTF-8 text, `ENCODING=BASE64`
 * becomes `ENCODING=b`, CHARSET goes. From 4.0: only cards that use nothing
 * 3.0 lacks. Either way the result must say exactly what the original says
 * (semantic.ts, VERSION aside) and parse as 3.0, or the original is kept.
 */
export function toVcard3(text: string): { text: string } | { reason: string } {
  let cards: ReturnType<typeof readComponents>;
  try {
    cards = readComponents(text, { bareNames: true });
  } catch (error) {
    return { reason: `unreadable: ${(error as Error).message}` };
  }
  const card = cards[0];
  if (!card || cards.length !== 1 || card.components.length > 0) return { reason: 'not a single plain vCard' };
  const version = card.properties.find((p) => p.name.toUpperCase() === 'VERSION')?.value.trim() ?? null;
  if (version === '3.0') return { text };
  if (version === '4.0') {
    const blocker =
      card.properties.find((p) => V4_PROPERTIES.has(p.name.toUpperCase()))?.name ??
      card.properties.flatMap((p) => p.params).find((p) => p.name && V4_PARAMS.has(p.name.toUpperCase()))?.name;
    if (blocker) return { reason: `${blocker.toUpperCase()} has no vCard 3.0 equivalent` };
  } else if (version !== '2.1') {
    return { reason: `no conversion from vCard version ${version ?? '(none)'}` };
  }
  const lines = [
    'BEGIN:VCARD',
    'VERSION:3.0',
    ...card.properties.filter((p) => p.name.toUpperCase() !== 'VERSION').map(toV3Line),
    'END:VCARD',
  ];
  const converted = `${lines.map(fold).join('\r\n')}\r\n`;
  try {
    loadIcal().parse(converted);
  } catch (error) {
    return { reason: `the 3.0 text does not parse: ${(error as Error).message}` };
  }
  if (withoutVersion(semanticComponents(text)) !== withoutVersion(semanticComponents(converted))) {
    return { reason: 'the conversion would change what the card says' };
  }
  return { text: converted };
}

function toV3Line(line: ContentLine): string {
  let encoding = '';
  let charset: string | null = null;
  const params: string[] = [];
  for (const param of line.params) {
    const value = unquote(param.value);
    const name = param.name === null ? bareParamName(value) : param.name.toUpperCase();
    if (name === 'ENCODING') encoding = value.toUpperCase();
    else if (name === 'CHARSET') charset = value;
    else params.push(`${name}=${param.name === null ? value : param.value}`);
  }
  let value = line.value;
  if (encoding === 'QUOTED-PRINTABLE') {
    value = escapeText(decodeQuotedPrintable(value, charset), line.name.toUpperCase());
  } else if (encoding === 'BASE64' || encoding === 'B') {
    params.push('ENCODING=b');
    value = value.replace(/\s+/g, '');
  } else if (TEXT.has(line.name.toUpperCase())) {
    value = escapeCommas(value);
  }
  const name = line.group ? `${line.group}.${line.name}` : line.name;
  return `${name}${params.map((p) => `;${p}`).join('')}:${value}`;
}

/** 2.1 decoded text → 3.0 text: existing backslash escapes kept, commas (in text properties) and line breaks escaped. */
function escapeText(decoded: string, name: string): string {
  let out = decoded.replace(/\r\n|\r|\n/g, '\\n');
  if (TEXT.has(name)) out = escapeCommas(out);
  return out;
}

/** Escapes commas that are not escaped yet; other escapes are copied as they are. */
function escapeCommas(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && i + 1 < text.length) {
      out += char + text[++i];
    } else {
      out += char === ',' ? '\\,' : char;
    }
  }
  return out;
}

/** Folds a line at 75 characters (RFC 2426 §2.6), never inside a surrogate pair. */
function fold(line: string): string {
  const chars = [...line];
  if (chars.length <= 75) return line;
  const parts = [chars.slice(0, 75).join('')];
  for (let i = 75; i < chars.length; i += 74) parts.push(` ${chars.slice(i, i + 74).join('')}`);
  return parts.join('\r\n');
}

function withoutVersion(components: SemanticComponent[]): string {
  return JSON.stringify(
    components.map((c) => componentKey({ ...c, properties: c.properties.filter((p) => p.name !== 'VERSION') })),
  );
}
