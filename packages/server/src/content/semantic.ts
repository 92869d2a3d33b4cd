import { bareParamName, type ContentComponent, type ContentLine, readComponents, unquote } from '@holdfast/protocol';
import { decodeQuotedPrintableText } from './semantic-charset.js';

/**
 * What a vCard or iCalendar text says, as opposed to how it is written:
 * each property as (group, name, parameters, value) with folding, line ends,
 * letter case of names, escaping, QUOTED-PRINTABLE and charsets, base64
 * line breaks and parameter order taken out. Two texts that say the same
 * give equal `SemanticComponent`s; verify and the round-trip tests compare
 * these (RFC 6350 §3, RFC 5545 §3.1).
 */
export interface SemanticProperty {
  group: string;
  name: string;
  /** Sorted `NAME=value[,value]` strings; TYPE values upper-cased and sorted, VALUE upper-cased; ENCODING and CHARSET dropped. */
  params: string[];
  /** The value split at unescaped `;`, each part unescaped; base64 as `base64:<canonical base64>`. */
  value: string[];
}

export interface SemanticComponent {
  name: string;
  properties: SemanticProperty[];
  components: SemanticComponent[];
}

/** Parses text into its semantic components (tolerant of vCard 2.1; throws ContentLineError on broken text). */
export function semanticComponents(text: string): SemanticComponent[] {
  return readComponents(text, { bareNames: true }).map(semanticComponent);
}

function semanticComponent(component: ContentComponent): SemanticComponent {
  return {
    name: component.name,
    properties: component.properties.map(semanticProperty),
    components: component.components.map(semanticComponent),
  };
}

export function semanticProperty(line: ContentLine): SemanticProperty {
  const params = new Map<string, string[]>();
  for (const param of line.params) {
    const raw = unquote(param.value);
    const name = param.name === null ? bareParamName(raw) : param.name.toUpperCase();
    // TYPE and VALUE values are case-insensitive tokens (RFC 6350 §5.6, §5.2; RFC 5545 §3.2.20).
    const values =
      name === 'TYPE'
        ? raw.split(',').map((v) => v.trim().toUpperCase())
        : [name === 'VALUE' ? raw.toUpperCase() : raw];
    params.set(name, [...(params.get(name) ?? []), ...values]);
  }
  const value = decodedValue(line, params.get('ENCODING')?.[0] ?? '', params.get('CHARSET')?.[0] ?? null);
  params.delete('ENCODING');
  params.delete('CHARSET');
  const type = params.get('TYPE');
  if (type) params.set('TYPE', [...new Set(type.filter((t) => t.length > 0))].sort());
  return {
    group: (line.group ?? '').toLowerCase(),
    name: line.name.toUpperCase(),
    params: [...params]
      .filter(([name, values]) => !(name === 'TYPE' && values.length === 0))
      .map(([name, values]) => `${name}=${values.join(',')}`)
      .sort(),
    value,
  };
}

/**
 * `semanticProperty(line).value` alone, for readers that want only the value (the contact listing of every
 * written contact): only ENCODING and CHARSET are read, with no parameter list built and sorted.
 */
export function semanticValue(line: ContentLine): string[] {
  let encoding: string | undefined;
  let charset: string | undefined;
  for (const param of line.params) {
    if (encoding !== undefined && charset !== undefined) break;
    const raw = unquote(param.value);
    const name = param.name === null ? bareParamName(raw) : param.name.toUpperCase();
    if (name === 'ENCODING') encoding ??= raw;
    else if (name === 'CHARSET') charset ??= raw;
  }
  return decodedValue(line, encoding ?? '', charset ?? null);
}

function decodedValue(line: ContentLine, encodingParam: string, charset: string | null): string[] {
  const encoding = encodingParam.toUpperCase();
  // A line break inside a decoded QUOTED-PRINTABLE value is the same line break a 3.0/4.0 `\n` escape writes.
  if (encoding === 'QUOTED-PRINTABLE')
    return splitValue(decodeQuotedPrintableText(line.value, charset).replace(/\r\n|\r/g, '\n'));
  if (encoding === 'B' || encoding === 'BASE64') return [`base64:${canonicalBase64(line.value)}`];
  return splitValue(line.value);
}

/** Splits at unescaped `;` and undoes the text escapes (`\\`, `\;`, `\,`, `\:`, `\n`, `\N`) in each part. */
function splitValue(value: string): string[] {
  // Most values have no escapes: split directly, without building each part a character at a time.
  if (!value.includes('\\')) return value.split(';');
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i] as string;
    if (char === '\\' && i + 1 < value.length) {
      const next = value[++i] as string;
      current += next === 'n' || next === 'N' ? '\n' : next;
    } else if (char === ';') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function canonicalBase64(value: string): string {
  return Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('base64');
}

/** A property as one comparable string. */
export function propertyKey(p: SemanticProperty): string {
  return JSON.stringify([p.group, p.name, p.params, p.value]);
}

/** A component (and everything in it) as one comparable string; order of properties and children ignored. */
export function componentKey(c: SemanticComponent): string {
  return JSON.stringify([c.name, c.properties.map(propertyKey).sort(), c.components.map(componentKey).sort()]);
}

/** Properties of `expected` not in `actual` and the other way round, each counted as often as it occurs. */
export function diffProperties(
  expected: SemanticProperty[],
  actual: SemanticProperty[],
): { missing: SemanticProperty[]; added: SemanticProperty[] } {
  const left = new Map<string, number>();
  for (const p of actual) left.set(propertyKey(p), (left.get(propertyKey(p)) ?? 0) + 1);
  const missing: SemanticProperty[] = [];
  for (const p of expected) {
    const key = propertyKey(p);
    const n = left.get(key) ?? 0;
    if (n > 0) left.set(key, n - 1);
    else missing.push(p);
  }
  const added = actual.filter((p) => {
    const key = propertyKey(p);
    const n = left.get(key) ?? 0;
    if (n === 0) return false;
    left.set(key, n - 1);
    return true;
  });
  return { missing, added };
}

/** A property the way a person reads it in a report: `item1.TEL;TYPE=CELL: +1 555 0100`. */
export function describeProperty(p: SemanticProperty, max = 80): string {
  const head = `${p.group ? `${p.group}.` : ''}${p.name}${p.params.map((x) => `;${x}`).join('')}`;
  const value = p.value.join(';');
  return `${head}: ${value.length > max ? `${value.slice(0, max)}…` : value}`;
}
