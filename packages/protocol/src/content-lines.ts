/**
 * The one reader of content lines, for server validation, comparison and
 * export. A tolerant reader for the line format shared by vCard and iCalendar
 * (RFC 6350 §3.2, RFC 5545 §3.1). It exists only to validate and to derive
 * searchable fields: the stored text is always the client's original string.
 *
 * Real clients write things ical.js rejects although nothing is wrong with the
 * data: vCard 2.1 QUOTED-PRINTABLE soft line breaks, bare 2.1 parameters
 * (`TEL;WORK;VOICE:`), empty parameters (`ADR;HOME;;:`), CR-only line ends.
 * This reader accepts those, reports real breakage with a line number, and
 * hands ical.js clean logical lines, one property at a time.
 */

/** A parameter as written: `name=value` (value raw, quotes kept) or a bare 2.1 token (`name` null). */
export interface ContentParam {
  name: string | null;
  value: string;
}

/** One unfolded logical line. `line` is the 1-based physical line it starts on. */
export interface ContentLine {
  line: number;
  group: string | null;
  name: string;
  params: ContentParam[];
  value: string;
}

/** A BEGIN..END block with its own properties and nested blocks. */
export interface ContentComponent {
  name: string;
  line: number;
  properties: ContentLine[];
  components: ContentComponent[];
}

/** A problem in the text, located at a physical line. */
export class ContentLineError extends Error {
  override readonly name = 'ContentLineError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface ReadOptions {
  /** vCard 2.1: a line holding only a property name (`FN`) is that property with an empty value. */
  bareNames?: boolean;
}

const BARE_NAME = /^(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+\s*$/;
/** Far above anything real (a handful per property, a nesting depth of 3), low enough to bound parser work. */
export const MAX_PARAMS = 128;
const MAX_DEPTH = 16;
/** The bare vCard 2.1 parameters that are ENCODING values; every other bare parameter is a TYPE. */
export const ENCODING_TOKENS: ReadonlySet<string> = new Set(['QUOTED-PRINTABLE', 'BASE64', 'B', '8BIT', '7BIT']);

/**
 * `text.toUpperCase()`, without making a new string when there is nothing to change: names and tokens are
 * almost always upper-case already, and each line of every written card asks for several.
 */
export function upperCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code >= 0x61 && code <= 0x7a) || code > 0x7f) return text.toUpperCase();
  }
  return text;
}

/** The name a bare vCard 2.1 parameter (`TEL;WORK;QUOTED-PRINTABLE:`) stands for. */
export function bareParamName(token: string): 'ENCODING' | 'TYPE' {
  return ENCODING_TOKENS.has(upperCase(token)) ? 'ENCODING' : 'TYPE';
}

export interface RawLine {
  line: number;
  text: string;
}

/** Folds a content line at 75 octets without cutting a UTF-8 character (RFC 5545 §3.1, RFC 6350 §3.2). */
export function foldLine(line: string, eol = '\r\n'): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const code = char.codePointAt(0) ?? 0;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    // The first line holds 75 octets; each continuation line's leading space counts toward its 75.
    if (octets + size > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join(`${eol} `);
}

/** Splits into logical lines: undoes folding and QUOTED-PRINTABLE soft line breaks. */
export function unfoldLines(text: string): RawLine[] {
  // One scan by character code: this runs for every pushed card, and a regex split plus per-line bookkeeping
  // objects made most of what reading a card allocated.
  const out: RawLine[] = [];
  let current: RawLine | undefined;
  /** The current line's pieces once it has more than one, joined when it ends: repeated concatenation would be quadratic on large values. */
  let parts: string[] | null = null;
  /** Whether the current line's value is QUOTED-PRINTABLE, once its head (up to ':') has been seen. */
  let quotedPrintable: boolean | undefined;
  const end = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let line = 1; ; line++) {
    let stop = pos;
    for (let code = text.charCodeAt(stop); stop < end && code !== 0x0a && code !== 0x0d; )
      code = text.charCodeAt(++stop);
    let softBreak = false;
    if (current && endsWithEquals(parts === null ? current.text : (parts[parts.length - 1] as string))) {
      if (quotedPrintable === undefined) {
        const decision = quotedPrintableHead(parts ?? [current.text]);
        softBreak = (decision & QP) !== 0;
        if ((decision & DECIDED) !== 0) quotedPrintable = softBreak;
      } else {
        softBreak = quotedPrintable;
      }
    }
    if (current && softBreak) {
      // QP soft break: the '=' and the line end are not part of the value.
      if (parts === null) parts = [current.text];
      const last = parts.length - 1;
      parts[last] = (parts[last] as string).slice(0, -1);
      parts.push(text.slice(pos, stop));
    } else if (current && stop > pos && (text.charCodeAt(pos) === 0x20 || text.charCodeAt(pos) === 0x09)) {
      if (parts === null) parts = [current.text];
      parts.push(text.slice(pos + 1, stop));
    } else if (stop > pos) {
      if (current && parts !== null) current.text = parts.join('');
      current = { line, text: text.slice(pos, stop) };
      out.push(current);
      parts = null;
      quotedPrintable = undefined;
    }
    // Empty lines (the blank line closing a 2.1 base64 value, the CR of a CR CR LF) carry nothing.
    if (stop >= end) break;
    pos = stop + (text.charCodeAt(stop) === 0x0d && text.charCodeAt(stop + 1) === 0x0a ? 2 : 1);
  }
  if (current && parts !== null) current.text = parts.join('');
  return out;
}

function endsWithEquals(piece: string): boolean {
  return piece.charCodeAt(piece.length - 1) === 0x3d;
}

const QP = 1;
const DECIDED = 2;

/**
 * Whether a line's head (its pieces so far) says QUOTED-PRINTABLE (QP), and whether that is final (DECIDED):
 * it is once the head is complete (or too long to matter); a folded head may still gain parameters.
 */
function quotedPrintableHead(parts: string[]): number {
  const prefix = headPrefix(parts);
  const head = splitHead(prefix);
  const qp = head?.params.some(isQuotedPrintable) ? QP : 0;
  return head === null || head.colon !== -1 || head.problem || prefix.length >= HEAD_LIMIT ? qp | DECIDED : qp;
}

/** Longer than any real QUOTED-PRINTABLE property head; bounds the work on hostile input. */
export const HEAD_LIMIT = 4096;

export function headPrefix(parts: string[]): string {
  let prefix = '';
  for (const part of parts) {
    prefix += part;
    if (prefix.length >= HEAD_LIMIT) return prefix.slice(0, HEAD_LIMIT);
  }
  return prefix;
}

/** True if the parameter says the value is QUOTED-PRINTABLE (2.1 `ENCODING=` or bare token). */
export function isQuotedPrintable(param: ContentParam): boolean {
  const value = unquote(param.value).toUpperCase();
  if (param.name === null) return value === 'QUOTED-PRINTABLE';
  return param.name.toUpperCase() === 'ENCODING' && value === 'QUOTED-PRINTABLE';
}

export interface Head {
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
  // `[group.]name` by character code rather than a regex match, which allocates a match array per line.
  const first = nameEnd(text, 0);
  if (first === 0) return null;
  const second = text.charCodeAt(first) === 0x2e ? nameEnd(text, first + 1) : first + 1;
  const grouped = second > first + 1;
  const head: Head = {
    group: grouped ? text.slice(0, first) : null,
    name: grouped ? text.slice(first + 1, second) : text.slice(0, first),
    params: [],
    colon: -1,
  };
  let pos = grouped ? second : first;
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
    const end = readParam(text, pos + 1, head);
    if (typeof end === 'string') {
      head.problem = `${describeName(head)}: ${end}`;
      return head;
    }
    if (head.params.length > MAX_PARAMS) {
      head.problem = `${describeName(head)} has more than ${MAX_PARAMS} parameters`;
      return head;
    }
    pos = end;
  }
  return head;
}

export function describeName(head: Head): string {
  return head.group ? `${head.group}.${head.name}` : head.name;
}

/** The end of the run of name characters (`[A-Za-z0-9_-]`) starting at `start`. */
function nameEnd(text: string, start: number): number {
  let pos = start;
  for (;;) {
    const code = text.charCodeAt(pos);
    // '-' '0'-'9' 'A'-'Z' '_' 'a'-'z'
    if (
      code === 0x2d ||
      (code >= 0x30 && code <= 0x39) ||
      (code >= 0x41 && code <= 0x5a) ||
      code === 0x5f ||
      (code >= 0x61 && code <= 0x7a)
    ) {
      pos++;
    } else {
      return pos;
    }
  }
}

/** The first parameter makes a list of one: pushing onto an empty list would give it room for 17. */
function addParam(head: Head, param: ContentParam): void {
  if (head.params.length === 0) head.params = [param];
  else head.params.push(param);
}

/**
 * Reads one parameter starting at `start` into the head (an empty bare one is dropped); returns where it ends,
 * or an error string for a malformed one.
 */
function readParam(text: string, start: number, head: Head): number | string {
  let pos = start;
  while (pos < text.length && !';:='.includes(text[pos] as string)) {
    if (text[pos] === '"') return `a quote inside parameter name '${text.slice(start, pos + 1)}'`;
    pos++;
  }
  const token = text.slice(start, pos);
  if (text[pos] !== '=') {
    const value = token.trim();
    if (value.length > 0) addParam(head, { name: null, value });
    return pos;
  }
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
  addParam(head, { name: token, value: text.slice(valueStart, pos) });
  return pos;
}

/** Parses one logical line into name, parameters and value. */
export function parseContentLine(raw: RawLine, options: ReadOptions = {}): ContentLine {
  return lineFromHead(raw, splitHead(raw.text), options);
}

/** The line its head (null: not even a name) makes, or the error it has. */
export function lineFromHead(raw: RawLine, head: Head | null, options: ReadOptions): ContentLine {
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
export function readComponents(text: string, options: ReadOptions = {}): ContentComponent[] {
  return nestComponents(unfoldLines(text), (raw) => parseContentLine(raw, options));
}

/** Parses logical lines in order into top-level components, checking BEGIN/END nesting as it goes. */
export function nestComponents(lines: RawLine[], parse: (raw: RawLine) => ContentLine): ContentComponent[] {
  const top: ContentComponent[] = [];
  const stack: ContentComponent[] = [];
  for (const raw of lines) {
    const line = parse(raw);
    const keyword = line.group === null ? upperCase(line.name) : '';
    const current = stack.at(-1);
    if (keyword === 'BEGIN') {
      const name = upperCase(line.value.trim());
      if (!name) throw new ContentLineError(line.line, 'BEGIN without a component name');
      if (stack.length >= MAX_DEPTH)
        throw new ContentLineError(line.line, `components nested more than ${MAX_DEPTH} deep`);
      const component: ContentComponent = { name, line: line.line, properties: [], components: [] };
      (current ? current.components : top).push(component);
      stack.push(component);
    } else if (keyword === 'END') {
      const name = upperCase(line.value.trim());
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

/**
 * Writes a line back in a form ical.js accepts: bare 2.1 parameters become
 * `ENCODING=` or `TYPE=`. Only used to feed the validating parser.
 */
export function formatForParser(line: ContentLine): string {
  let out = line.group ? `${line.group}.${line.name}` : line.name;
  for (const param of line.params) {
    if (param.name !== null) {
      out += `;${param.name}=${param.value}`;
    } else {
      out += `;${bareParamName(param.value)}=${param.value}`;
    }
  }
  return `${out}:${line.value}`;
}

/** The parameter's value without surrounding double quotes. */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** A short, single-line excerpt of input for error messages. */
export function preview(text: string, max = 60): string {
  const flat = text.replace(/[\r\n\t]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
