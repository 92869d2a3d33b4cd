/**
 * The content-line reader as it was before it scanned by character code (a regex split, a regex for names, one
 * list of pieces per line), kept here only to check that the reader in use gives exactly its lines, its
 * components and its errors.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ContentComponent, ContentLine, ContentParam, ReadOptions } from './content-lines.js';
import * as reader from './content-lines.js';

/** A problem in the text, located at a physical line. */
class ContentLineError extends Error {
  override readonly name = 'ContentLineError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const NAME = /^(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)/;
const BARE_NAME = /^(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+\s*$/;
/** Far above anything real (a handful per property, a nesting depth of 3), low enough to bound parser work. */
const MAX_PARAMS = 128;
const MAX_DEPTH = 16;
interface RawLine {
  line: number;
  text: string;
}

interface PendingLine {
  line: number;
  /** Pieces joined once at the end: repeated string slicing would be quadratic on large values. */
  parts: string[];
  /** Whether the value is QUOTED-PRINTABLE, once the head (up to ':') has been seen. */
  quotedPrintable?: boolean;
}

/** Splits into logical lines: undoes folding and QUOTED-PRINTABLE soft line breaks. */
function unfoldLines(text: string): RawLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const out: PendingLine[] = [];
  let current: PendingLine | undefined;
  for (const [index, row] of physical.entries()) {
    if (current && endsWithSoftBreak(current)) {
      // QP soft break: the '=' and the line end are not part of the value.
      const last = current.parts.length - 1;
      current.parts[last] = (current.parts[last] as string).slice(0, -1);
      current.parts.push(row);
    } else if (current && (row.startsWith(' ') || row.startsWith('\t'))) {
      current.parts.push(row.slice(1));
    } else if (row.length > 0) {
      current = { line: index + 1, parts: [row] };
      out.push(current);
    }
    // Empty lines (the blank line closing a 2.1 base64 value, the CR of a CR CR LF) carry nothing.
  }
  return out.map((pending) => ({ line: pending.line, text: pending.parts.join('') }));
}

/** Longer than any real QUOTED-PRINTABLE property head; bounds the work on hostile input. */
const HEAD_LIMIT = 4096;

function endsWithSoftBreak(pending: PendingLine): boolean {
  if (!pending.parts.at(-1)?.endsWith('=')) return false;
  if (pending.quotedPrintable === undefined) {
    const prefix = headPrefix(pending.parts);
    const head = splitHead(prefix);
    const qp = head?.params.some(isQuotedPrintable) ?? false;
    // Decide for good once the head is complete (or too long to matter); a folded head may still gain parameters.
    if (head === null || head.colon !== -1 || head.problem || prefix.length >= HEAD_LIMIT) {
      pending.quotedPrintable = qp;
    }
    return qp;
  }
  return pending.quotedPrintable;
}

function headPrefix(parts: string[]): string {
  let prefix = '';
  for (const part of parts) {
    prefix += part;
    if (prefix.length >= HEAD_LIMIT) return prefix.slice(0, HEAD_LIMIT);
  }
  return prefix;
}

/** True if the parameter says the value is QUOTED-PRINTABLE (2.1 `ENCODING=` or bare token). */
function isQuotedPrintable(param: ContentParam): boolean {
  const value = unquote(param.value).toUpperCase();
  if (param.name === null) return value === 'QUOTED-PRINTABLE';
  return param.name.toUpperCase() === 'ENCODING' && value === 'QUOTED-PRINTABLE';
}

interface Head {
  group: string | null;
  name: string;
  params: ContentParam[];
  /** Index of the ':' that starts the value, or -1 when the line ends first. */
  colon: number;
  /** Set when the head is malformed. */
  problem?: string;
}

/**
 * Reads `[group.]name *(;param) :` honouring quoted parameter values. Returns
 * null when the line does not even start with a name.
 */
function splitHead(text: string): Head | null {
  const match = NAME.exec(text);
  if (!match) return null;
  const head: Head = { group: match[1] ?? null, name: match[2] ?? '', params: [], colon: -1 };
  let pos = match[0].length;
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === ':') {
      head.colon = pos;
      return head;
    }
    if (ch !== ';') {
      head.problem = `expected ':' or ';' after ${describeName(head)}, found '${ch}'`;
      return head;
    }
    const param = readParam(text, pos + 1);
    if (typeof param === 'string') {
      head.problem = `${describeName(head)}: ${param}`;
      return head;
    }
    if (param.value.length > 0 || param.name !== null) head.params.push({ name: param.name, value: param.value });
    if (head.params.length > MAX_PARAMS) {
      head.problem = `${describeName(head)} has more than ${MAX_PARAMS} parameters`;
      return head;
    }
    pos = param.end;
  }
  return head;
}

function describeName(head: Head): string {
  return head.group ? `${head.group}.${head.name}` : head.name;
}

/** Reads one parameter starting at `start`; returns an error string for malformed ones. */
function readParam(text: string, start: number): { name: string | null; value: string; end: number } | string {
  let pos = start;
  while (pos < text.length && !';:='.includes(text[pos] as string)) {
    if (text[pos] === '"') return `a quote inside parameter name '${text.slice(start, pos + 1)}'`;
    pos++;
  }
  const token = text.slice(start, pos);
  if (text[pos] !== '=') return { name: null, value: token.trim(), end: pos };
  if (token.trim().length === 0) return `a parameter with no name ('=${text.slice(pos + 1, pos + 20)}')`;
  pos++;
  const valueStart = pos;
  while (pos < text.length && text[pos] !== ';' && text[pos] !== ':') {
    if (text[pos] === '"') {
      const close = text.indexOf('"', pos + 1);
      if (close === -1) return `the quoted value of parameter ${token} is never closed, so the property has no value`;
      pos = close + 1;
    } else {
      pos++;
    }
  }
  return { name: token, value: text.slice(valueStart, pos), end: pos };
}

/** Parses one logical line into name, parameters and value. */
function parseContentLine(raw: RawLine, options: ReadOptions = {}): ContentLine {
  const head = splitHead(raw.text);
  if (head === null) throw new ContentLineError(raw.line, `not a content line: '${preview(raw.text)}'`);
  if (head.problem) throw new ContentLineError(raw.line, head.problem);
  if (head.colon === -1) {
    if (options.bareNames && BARE_NAME.test(raw.text)) {
      return { line: raw.line, group: head.group, name: head.name, params: [], value: '' };
    }
    const swallowed = head.params.find((p) => p.name !== null && p.value.startsWith('"') && p.value.includes(':'));
    const hint = swallowed ? ` (the ':' is inside the quoted ${swallowed.name} parameter)` : '';
    throw new ContentLineError(
      raw.line,
      `${describeName(head)} has no ':' before its value${hint}: '${preview(raw.text)}'`,
    );
  }
  return {
    line: raw.line,
    group: head.group,
    name: head.name,
    params: head.params,
    value: raw.text.slice(head.colon + 1),
  };
}

/** Reads the whole text into top-level components, checking BEGIN/END nesting. */
function readComponents(text: string, options: ReadOptions = {}): ContentComponent[] {
  const top: ContentComponent[] = [];
  const stack: ContentComponent[] = [];
  for (const raw of unfoldLines(text)) {
    const line = parseContentLine(raw, options);
    const keyword = line.group === null ? line.name.toUpperCase() : '';
    const current = stack.at(-1);
    if (keyword === 'BEGIN') {
      const name = line.value.trim().toUpperCase();
      if (!name) throw new ContentLineError(line.line, 'BEGIN without a component name');
      if (stack.length >= MAX_DEPTH)
        throw new ContentLineError(line.line, `components nested more than ${MAX_DEPTH} deep`);
      const component: ContentComponent = { name, line: line.line, properties: [], components: [] };
      (current ? current.components : top).push(component);
      stack.push(component);
    } else if (keyword === 'END') {
      const name = line.value.trim().toUpperCase();
      if (!current) throw new ContentLineError(line.line, `END:${name} without a matching BEGIN`);
      if (name !== current.name) {
        throw new ContentLineError(
          line.line,
          `END:${name} does not close BEGIN:${current.name} (line ${current.line})`,
        );
      }
      stack.pop();
    } else if (current) {
      current.properties.push(line);
    } else {
      const where = top.length === 0 ? 'before the first BEGIN' : `after END:${top.at(-1)?.name}`;
      throw new ContentLineError(line.line, `${line.name} is outside any component (${where})`);
    }
  }
  const open = stack.at(-1);
  if (open) throw new ContentLineError(open.line, `BEGIN:${open.name} is never closed (no END:${open.name})`);
  return top;
}

/** The parameter's value without surrounding double quotes. */
function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** A short, single-line excerpt of input for error messages. */
function preview(text: string, max = 60): string {
  const flat = text.replace(/[\r\n\t]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** What a read gives: the components, or the line and message of the error. */
function outcome(read: () => unknown): unknown {
  try {
    return { value: read() };
  } catch (error) {
    return { line: (error as { line?: number }).line, message: (error as Error).message };
  }
}

const piece = fc.constantFrom(
  '\r\n',
  '\n',
  '\r',
  ' ',
  '\t',
  '=',
  '\uFEFF',
  'NOTE',
  'BEGIN:VCARD',
  'END:VCARD',
  'BEGIN:VEVENT',
  'END:VEVENT',
  'NOTE;ENCODING=QUOTED-PRINTABLE:',
  'NOTE;QUOTED-PRINTABLE:',
  'NOTE;ENCODING=',
  'QUOTED-PRINTABLE:',
  'TEL;WORK;VOICE:+1 555',
  'ADR;HOME;;:',
  'X-P="a:b"',
  'item1.',
  'a.b',
  '.',
  '-_9',
  'é',
  ':',
  ';',
  '"',
  'x',
);

describe('the reader by character code', () => {
  test('gives the lines and line numbers of the regex split, on any text', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(reader.unfoldLines(text)).toEqual(unfoldLines(text));
      }),
      { numRuns: 3000 },
    );
  });

  test('gives the same components, or the same error, on any text', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.boolean(), (pieces, bareNames) => {
        const text = `BEGIN:VCARD\r\n${pieces.join('')}\r\nEND:VCARD\r\n`;
        expect(outcome(() => reader.readComponents(text, { bareNames }))).toEqual(
          outcome(() => readComponents(text, { bareNames })),
        );
      }),
      { numRuns: 3000 },
    );
  });
});
