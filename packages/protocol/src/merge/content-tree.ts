import type ICAL from 'ical.js';
import { AppError } from '../errors.js';
import { loadIcal } from '../ical-module.js';

/**
 * One content line (`group.NAME;PARAM=x:value`) as the merge sees it. Names,
 * groups and parameter names are lower-case; the value is exactly the text
 * after the value colon, still escaped, so a line the merge does not change is
 * written back with the same value text.
 */
export interface ContentLine {
  readonly group: string | null;
  readonly name: string;
  readonly params: Readonly<Record<string, string | readonly string[]>>;
  /** `unknown` unless the line carried `VALUE=`, then that type in lower case. */
  readonly valueType: string;
  readonly value: string;
}

/** A `BEGIN:x` … `END:x` block: its own lines, then its nested components. */
export interface ContentComponent {
  readonly name: string;
  readonly lines: readonly ContentLine[];
  readonly children: readonly ContentComponent[];
}

/** Which format a text claims to be, for error messages and root checks. */
export type ContentFormat = 'vCard' | 'iCalendar';

type JcalLine = [string, Record<string, string | string[]>, string, string];
type JcalComponent = [string, JcalLine[], JcalComponent[]];
type DesignSet = typeof ICAL.design.icalendar;

const ROOT: Record<ContentFormat, string> = { vCard: 'vcard', iCalendar: 'vcalendar' };

/*
 * ical.js converts values by type while parsing (dates, integers, RRULE), and
 * some real-world values do not survive that: a DTSTART of `20041225` without
 * VALUE=DATE comes back as `2004-12-25T::`, a vCard 4 REV in extended format is
 * mangled (kewisch/ical.js#1028), an RRULE with `BYDAY= TU` throws. The merge
 * compares and re-emits values, it never interprets them, so it parses with a
 * design set that knows no value types: every value stays the text it was.
 *
 * Parameters: TYPE and PID are comma lists (TYPE=work,voice); every other
 * parameter is read like ical.js reads MEMBER ("a","b"), which also keeps both
 * values when a parameter is repeated instead of silently keeping the last.
 */
const LIST_PARAM = Object.freeze({ multiValue: ',' });
const QUOTED_LIST_PARAM = Object.freeze({ multiValue: ',', multiValueSeparateDQuote: true });
const RAW_DESIGN: DesignSet = {
  value: Object.create(null),
  property: Object.create(null),
  param: new Proxy(Object.create(null), {
    has: (_target, name) => typeof name === 'string',
    get: (_target, name) => (name === 'type' || name === 'pid' ? LIST_PARAM : QUOTED_LIST_PARAM),
  }),
  // Groups stay part of the name (`item1.tel`) and are split here, so a name
  // with more than one dot cannot lose its tail.
  propertyGroups: false,
};

/**
 * Parses one vCard (`BEGIN:VCARD`) or one iCalendar object (`BEGIN:VCALENDAR`)
 * with ical.js. Throws `invalid_content` when ical.js cannot parse the text,
 * when it is not exactly one object of the expected kind, when a value is
 * QUOTED-PRINTABLE (vCard 2.1), or when the parsed values differ from the
 * text's values, so nothing is ever merged from a lossy parse.
 *
 * The text must already be decoded to a string; a CHARSET parameter is kept
 * as a parameter and not interpreted.
 */
export function parseContent(text: string, format: ContentFormat): ContentComponent {
  const normalized = normalizeLineBreaks(text);
  let parsed: unknown;
  try {
    parsed = parseWithRawDesign(normalized);
  } catch (error) {
    // ical.js messages quote the offending line; keep record contents out of errors.
    const kind = error instanceof Error ? error.name : 'Error';
    throw new AppError('invalid_content', `The ${format} could not be parsed.`, { format, parser: kind });
  }
  const roots = isJcalComponent(parsed) ? [parsed] : Array.isArray(parsed) ? parsed : [];
  if (roots.length !== 1 || !isJcalComponent(roots[0]) || roots[0][0] !== ROOT[format]) {
    throw new AppError('invalid_content', `Expected exactly one ${ROOT[format].toUpperCase()} object.`, {
      format,
      objects: roots.length,
    });
  }
  const root = fromJcal(roots[0]);
  assertValuesKept(normalized, root, format);
  assertNoQuotedPrintable(root, format);
  return root;
}

/** Writes a component as text (CRLF line breaks, folded at 75 octets). */
export function emitContent(root: ContentComponent): string {
  return `${loadIcal().stringify.component(toJcal(root), RAW_DESIGN)}\r\n`;
}

/** Writes one line unfolded, e.g. for a conflict record. */
export function emitLine(line: ContentLine): string {
  return loadIcal().stringify.property(toJcalLine(line), RAW_DESIGN, true);
}

// CRLF, LF and CR CR LF (iOS exports) all end a line; without this ical.js
// keeps the stray CR inside values and misreads folds. A CR elsewhere is
// content (Thunderbird writes them inside values), unless the text has no LF
// at all (classic Mac line ends).
function normalizeLineBreaks(text: string): string {
  const unmarked = text.replace(/^\uFEFF/, '');
  const lines = unmarked.includes('\n') ? unmarked.replace(/\r*\n/g, '\r\n') : unmarked.replace(/\r+/g, '\r\n');
  return lines.trim();
}

// ICAL.parse takes no design set, so the raw one is installed for the
// duration of this synchronous call and the shared defaults are restored
// before any other code can run.
function parseWithRawDesign(text: string): unknown {
  const design = loadIcal().design as { defaultSet: DesignSet; components: Record<string, DesignSet> };
  const savedDefault = design.defaultSet;
  const savedComponents = design.components;
  design.defaultSet = RAW_DESIGN;
  design.components = Object.fromEntries(Object.keys(savedComponents).map((name) => [name, RAW_DESIGN]));
  try {
    return loadIcal().parse(text);
  } finally {
    design.defaultSet = savedDefault;
    design.components = savedComponents;
  }
}

/*
 * ical.js can split a line at the wrong colon without failing (a parameter
 * list such as DELEGATED-TO="mailto:a","mailto:b","mailto:c" as the last
 * parameter). The value of every content line is the text after its first
 * colon outside double quotes; the parsed values must be exactly those.
 */
function assertValuesKept(text: string, root: ContentComponent, format: ContentFormat): void {
  const expected: string[] = [];
  for (const line of text.replace(/\r\n[ \t]/g, '').split('\r\n')) {
    if (line === '' || /^(begin|end):/i.test(line)) continue;
    expected.push(valueAfterColon(line));
  }
  const actual = allLines(root).map((line) => line.value);
  expected.sort();
  actual.sort();
  if (expected.length !== actual.length || expected.some((value, i) => value !== actual[i])) {
    throw new AppError('invalid_content', `The ${format} has a line ical.js cannot read faithfully.`, { format });
  }
}

function valueAfterColon(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === '"') quoted = !quoted;
    else if (char === ':' && !quoted) return line.slice(i + 1);
  }
  return '';
}

function assertNoQuotedPrintable(root: ContentComponent, format: ContentFormat): void {
  for (const line of allLines(root)) {
    const encoding = line.params.encoding;
    const values = typeof encoding === 'string' ? [encoding] : (encoding ?? []);
    if (values.some((value) => value.toLowerCase() === 'quoted-printable')) {
      throw new AppError(
        'invalid_content',
        `QUOTED-PRINTABLE values are not supported; send the ${format} as 3.0 or 4.0.`,
        {
          format,
          property: line.name.toUpperCase(),
        },
      );
    }
  }
}

function allLines(component: ContentComponent): ContentLine[] {
  return [...component.lines, ...component.children.flatMap(allLines)];
}

function isJcalComponent(value: unknown): value is JcalComponent {
  return Array.isArray(value) && typeof value[0] === 'string' && Array.isArray(value[1]);
}

function fromJcal([name, lines, children]: JcalComponent): ContentComponent {
  return {
    name,
    lines: lines.map(([fullName, params, valueType, value]) => {
      const dot = fullName.indexOf('.');
      return {
        group: dot === -1 ? null : fullName.slice(0, dot),
        name: dot === -1 ? fullName : fullName.slice(dot + 1),
        params,
        valueType,
        value: value ?? '',
      };
    }),
    children: (children ?? []).map(fromJcal),
  };
}

function toJcalLine(line: ContentLine): JcalLine {
  const name = line.group === null ? line.name : `${line.group}.${line.name}`;
  const params: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(line.params)) params[key] = typeof value === 'string' ? value : [...value];
  return [name, params, line.valueType, line.value];
}

function toJcal(component: ContentComponent): JcalComponent {
  return [component.name, component.lines.map(toJcalLine), component.children.map(toJcal)];
}
