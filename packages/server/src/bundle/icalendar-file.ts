import { unfoldLines } from '../content/content-lines.js';
import { decodeText } from './charset.js';
import type { FileProblem } from './vcard-file.js';

/** An event or task cut from a calendar file: a master, its overrides and the time zones they use. */
export interface CalendarSlice {
  kind: CalendarItemKind;
  /** Line of its first component in the file. */
  line: number;
  uid: string | null;
  /** A whole calendar object: the file's VCALENDAR head, the needed VTIMEZONEs and the components, as written. */
  text: string;
  encoding: string;
}

export type CalendarItemKind = 'event' | 'task' | 'note';

/** Components Holdfast keeps as items, and what they become (a journal entry is a note). */
const ITEM_KINDS: Record<string, CalendarItemKind> = { VEVENT: 'event', VTODO: 'task', VJOURNAL: 'note' };
/** Components that are items in other systems; a VFREEBUSY is an answer computed from events, not data. */
const SCHEDULING = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']);
/** Components that are salvaged when a file has them with no VCALENDAR around them. */
const BARE = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VTIMEZONE']);
/** Nesting deeper than this is not a calendar (ical.js and the validator stop at 16 too). */
const MAX_DEPTH = 16;

export interface Block {
  name: string;
  line: number;
  lines: string[];
  broken: string | null;
}

/** One VCALENDAR of a file, in pieces of its own text. */
export interface CalendarParts {
  line: number;
  /** The BEGIN:VCALENDAR and END:VCALENDAR lines as written ('' if the file ended first). */
  begin: string;
  end: string;
  /** Calendar properties, each with its continuation lines and line ends. */
  head: string[];
  timezones: { tzid: string; text: string; used: boolean }[];
  components: Block[];
}

/**
 * Splits a calendar file into items: one per UID and kind (a VEVENT master
 * with its RECURRENCE-ID overrides, wherever they sit in the file), each a
 * calendar object of its own made of the file's own lines. Components without
 * a UID are items of their own. VTIMEZONEs go with every item that uses
 * them; one nothing uses goes with the file's first item, so none is lost.
 * Components Holdfast has no collection for (VJOURNAL, VFREEBUSY, …) and text
 * outside VCALENDAR come out as problems.
 */
export function splitCalendarFile(bytes: Uint8Array): (CalendarSlice | FileProblem)[] {
  const { text, encoding } = decodeText(bytes);
  const eol = /\r\n|\n|\r/.exec(text)?.[0] ?? '\r\n';
  const { calendars, problems } = readCalendars(text);
  const out: (CalendarSlice | FileProblem)[] = [...problems];
  for (const calendar of calendars) out.push(...itemsOf(calendar, eol, encoding));
  if (calendars.length === 0 && problems.length === 0) {
    out.push({ kind: 'problem', line: 1, reason: 'not an iCalendar file: no BEGIN:VCALENDAR found' });
  }
  return out.sort((a, b) => a.line - b.line);
}

export function readCalendars(text: string): { calendars: CalendarParts[]; problems: FileProblem[] } {
  const calendars: CalendarParts[] = [];
  const problems: FileProblem[] = [];
  const eol = /\r\n|\n|\r/.exec(text)?.[0] ?? '\r\n';
  let calendar: CalendarParts | null = null;
  // A calendar opened for components written without a VCALENDAR around them.
  let implicit = false;
  let block: (Block & { stack: string[]; overflow: number }) | null = null;
  // A line outside any calendar, with its continuation lines: reported once, as one logical line.
  let stray: { line: number; content: string } | null = null;
  const flushStray = () => {
    if (stray === null) return;
    const shown = stray.content.length > 40 ? `${stray.content.slice(0, 40)}…` : stray.content;
    problems.push({
      kind: 'problem',
      line: stray.line,
      reason: `line ${stray.line} is outside any VCALENDAR ('${shown}'); not imported`,
    });
    stray = null;
  };
  const closeImplicit = () => {
    if (calendar === null || !implicit) return;
    calendar.end = `END:VCALENDAR${eol}`;
    calendars.push(calendar);
    calendar = null;
    implicit = false;
  };
  splitAfterLineEnds(text).forEach((raw, index) => {
    const no = index + 1;
    const first = raw.charCodeAt(0);
    // A line is cut after its line end, so one that starts with CR or LF is nothing but that line end.
    if (raw.length === 0 || first === 0x0d || first === 0x0a) return;
    const content = raw.replace(/[\r\n]+$/, '');
    // Only a line starting with B or E can be BEGIN or END: most lines skip the pattern.
    const maybeKeyword = (first | 0x20) === 0x62 || (first | 0x20) === 0x65;
    const keyword = maybeKeyword ? /^(BEGIN|END)[ \t]*:[ \t]*([A-Za-z0-9-]+)[ \t]*$/i.exec(content) : null;
    const verb = keyword?.[1]?.toUpperCase();
    const name = keyword?.[2]?.toUpperCase() ?? '';
    if (block === null && implicit && !(verb === 'BEGIN' && name !== 'VCALENDAR')) closeImplicit();
    if (calendar === null) {
      if (stray !== null && (first === 0x20 || first === 0x09)) {
        stray.content += content.slice(1);
        return;
      }
      flushStray();
      if (verb === 'BEGIN' && name === 'VCALENDAR') {
        calendar = { line: no, begin: raw, end: '', head: [], timezones: [], components: [] };
      } else if (verb === 'BEGIN' && BARE.has(name)) {
        // A bare VEVENT (hand-written files, test data): salvaged into a calendar of its own making.
        calendar = {
          line: no,
          begin: `BEGIN:VCALENDAR${eol}`,
          end: '',
          head: [`VERSION:2.0${eol}`, `PRODID:-//Holdfast//Import//EN${eol}`],
          timezones: [],
          components: [],
        };
        implicit = true;
      } else {
        stray = { line: no, content };
        return;
      }
      if (!implicit) return;
    }
    if (block === null) {
      if (verb === 'BEGIN') {
        block = { name, line: no, lines: [raw], broken: null, stack: [name], overflow: 0 };
      } else if (verb === 'END' && name === 'VCALENDAR') {
        calendar.end = raw;
        calendars.push(calendar);
        calendar = null;
      } else if (/^[ \t]/.test(raw) && calendar.head.length > 0) {
        calendar.head[calendar.head.length - 1] += raw;
      } else {
        // A calendar property: part of every item's head.
        calendar.head.push(raw);
      }
      return;
    }
    block.lines.push(raw);
    if (verb === 'BEGIN') {
      if (block.stack.length < MAX_DEPTH) block.stack.push(name);
      else {
        block.overflow++;
        block.broken ??= `components nested more than ${MAX_DEPTH} deep at line ${no}`;
      }
    } else if (verb === 'END') {
      if (block.overflow > 0) block.overflow--;
      else if (block.stack.at(-1) === name) block.stack.pop();
      else {
        block.broken ??= `END:${name} at line ${no} does not close BEGIN:${block.stack.at(-1)}`;
        const open = block.stack.lastIndexOf(name);
        block.stack.length = open === -1 ? block.stack.length - 1 : open;
      }
      if (block.stack.length === 0) {
        addBlock(calendar, block, problems);
        block = null;
      }
    }
  });
  flushStray();
  const open = calendar as CalendarParts | null;
  if (open !== null) {
    if (implicit) open.end = `END:VCALENDAR${eol}`;
    const unclosed = block as Block | null;
    if (unclosed) {
      problems.push({
        kind: 'problem',
        line: unclosed.line,
        reason: `BEGIN:${unclosed.name} at line ${unclosed.line} is never closed (the file ends first; truncated?); not imported`,
      });
    }
    // The calendar itself was cut short; its complete components are still good.
    calendars.push(open);
  }
  return { calendars, problems };
}

/**
 * The text cut after each line end (CRLF, LF or a lone CR), line ends kept;
 * `['']` for empty text. The same as splitting on /(?<=\r\n|\n|\r(?!\n))/,
 * which is several times slower on the many small texts an export reads.
 */
export function splitAfterLineEnds(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length || out.length === 0) out.push(text.slice(start));
  return out;
}

function addBlock(calendar: CalendarParts, block: Block, problems: FileProblem[]): void {
  if (block.broken) {
    problems.push({
      kind: 'problem',
      line: block.line,
      reason: `${block.name} at line ${block.line}: ${block.broken}; not imported`,
    });
  } else if (block.name === 'VTIMEZONE') {
    calendar.timezones.push({ tzid: propertyValue(block, 'TZID') ?? '', text: block.lines.join(''), used: false });
  } else {
    calendar.components.push(block);
  }
}

/** The unescaped value of a component's own top-level property (not of its subcomponents). */
function propertyValue(block: Block, name: string): string | null {
  let depth = 0;
  for (const { text } of unfoldLines(block.lines.join(''))) {
    if (/^BEGIN[ \t]*:/i.test(text)) depth++;
    else if (/^END[ \t]*:/i.test(text)) depth--;
    else if (depth === 1) {
      const match = new RegExp(`^${name}(;[^:]*)?:(.*)$`, 'i').exec(text);
      if (match) return unescapeText((match[2] ?? '').trim());
    }
  }
  return null;
}

function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

const TZID_PARAM = /;TZID=("[^"]*"|[^;:,]*)/gi;

function usedTzids(block: Block): Set<string> {
  const used = new Set<string>();
  for (const { text } of unfoldLines(block.lines.join(''))) {
    for (const match of text.matchAll(TZID_PARAM)) {
      const raw = match[1] ?? '';
      used.add(raw.startsWith('"') ? raw.slice(1, -1) : raw);
    }
  }
  return used;
}

function itemsOf(calendar: CalendarParts, eol: string, encoding: string): (CalendarSlice | FileProblem)[] {
  const out: (CalendarSlice | FileProblem)[] = [];
  const groups = new Map<string, { kind: CalendarItemKind; uid: string | null; line: number; blocks: Block[] }>();
  const extras: Block[] = [];
  for (const block of calendar.components) {
    const kind = ITEM_KINDS[block.name];
    const uid = propertyValue(block, 'UID');
    if (!kind && !SCHEDULING.has(block.name)) {
      // An X- or other non-scheduling component: kept, with the file's first item (like an unused VTIMEZONE).
      extras.push(block);
      continue;
    }
    if (!kind) {
      const id = uid === null ? '' : ` (UID ${uid})`;
      out.push({
        kind: 'problem',
        line: block.line,
        skipped: true,
        reason: `${block.name} at line ${block.line}${id}: a free/busy list is worked out from the events it covers (Holdfast answers free/busy queries from its calendars), so there is nothing to keep`,
      });
      continue;
    }
    const key = uid === null ? `#${block.line}` : `${kind}:${uid}`;
    const group = groups.get(key) ?? { kind, uid, line: block.line, blocks: [] };
    group.blocks.push(block);
    groups.set(key, group);
  }
  const slices = [...groups.values()].map((group) => {
    const needed = new Set(group.blocks.flatMap((b) => [...usedTzids(b)]));
    const zones = calendar.timezones.filter((tz) => needed.has(tz.tzid));
    for (const zone of zones) zone.used = true;
    return { group, zones: zones.map((z) => z.text) };
  });
  const unused = calendar.timezones.filter((tz) => !tz.used).map((tz) => tz.text);
  if (slices.length === 0) {
    for (const block of extras) {
      out.push({
        kind: 'problem',
        line: block.line,
        reason: `${block.name} at line ${block.line}: no event or task in this calendar to keep it with; not imported`,
      });
    }
  }
  slices.forEach(({ group, zones }, index) => {
    const parts = [
      calendar.begin,
      ...calendar.head,
      ...zones,
      ...(index === 0 ? unused : []),
      ...group.blocks.map((b) => b.lines.join('')),
      ...(index === 0 ? extras.map((b) => b.lines.join('')) : []),
      calendar.end || `END:VCALENDAR${eol}`,
    ];
    const text = parts.map((part) => (/[\r\n]$/.test(part) ? part : `${part}${eol}`)).join('');
    out.push({ kind: group.kind, line: group.line, uid: group.uid, text, encoding });
  });
  return out;
}

/** The TZID of one VTIMEZONE block's text. */
export function timezoneId(text: string): string {
  const calendar = readCalendars(`BEGIN:VCALENDAR\r\n${text}${/[\r\n]$/.test(text) ? '' : '\r\n'}END:VCALENDAR\r\n`);
  return calendar.calendars[0]?.timezones[0]?.tzid ?? '';
}
