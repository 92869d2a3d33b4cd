/**
 * The parts of the content-line reader that changed when it began to scan by character code (a regex split of
 * lines, a regex for names, one list of pieces per line), kept as they were only to check that the reader in use
 * gives exactly their lines, components and errors. Everything else is the reader's own.
 */
import { contentLineText } from '@holdfast/test-support/content-line-text';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ContentParam, Head, RawLine } from './content-lines.js';
import * as reader from './content-lines.js';

const NAME = /^(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)/;

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

function endsWithSoftBreak(pending: PendingLine): boolean {
  if (!pending.parts.at(-1)?.endsWith('=')) return false;
  if (pending.quotedPrintable === undefined) {
    const prefix = reader.headPrefix(pending.parts);
    const head = splitHead(prefix);
    const qp = head?.params.some(reader.isQuotedPrintable) ?? false;
    // Decide for good once the head is complete (or too long to matter); a folded head may still gain parameters.
    if (head === null || head.colon !== -1 || head.problem || prefix.length >= reader.HEAD_LIMIT) {
      pending.quotedPrintable = qp;
    }
    return qp;
  }
  return pending.quotedPrintable;
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
      head.problem = `expected ':' or ';' after ${reader.describeName(head)}, found '${ch}'`;
      return head;
    }
    const param = readParam(text, pos + 1);
    if (typeof param === 'string') {
      head.problem = `${reader.describeName(head)}: ${param}`;
      return head;
    }
    if (param.value.length > 0 || param.name !== null) head.params.push({ name: param.name, value: param.value });
    if (head.params.length > reader.MAX_PARAMS) {
      head.problem = `${reader.describeName(head)} has more than ${reader.MAX_PARAMS} parameters`;
      return head;
    }
    pos = param.end;
  }
  return head;
}

/** Reads one parameter starting at `start`; returns an error string for malformed ones. */
function readParam(text: string, start: number): (ContentParam & { end: number }) | string {
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

/** The old reader: its own lines and heads, the reader's parsing of a head and nesting of lines. */
function readComponents(text: string, options: reader.ReadOptions): reader.ContentComponent[] {
  return reader.nestComponents(unfoldLines(text), (raw) => reader.lineFromHead(raw, splitHead(raw.text), options));
}

/** What a read gives: the components, or the line and message of the error. */
function outcome(read: () => unknown): unknown {
  try {
    return { value: read() };
  } catch (error) {
    return { line: (error as { line?: number }).line, message: (error as Error).message };
  }
}

describe('the reader by character code', () => {
  test('gives the lines and line numbers of the regex split, on any text', () => {
    fc.assert(
      fc.property(contentLineText(), (text) => {
        expect(reader.unfoldLines(text)).toEqual(unfoldLines(text));
      }),
      { numRuns: 3000 },
    );
  });

  test('gives the same components, or the same error, on any text', () => {
    fc.assert(
      fc.property(contentLineText(), fc.boolean(), (body, bareNames) => {
        const text = `BEGIN:VCARD\r\n${body}\r\nEND:VCARD\r\n`;
        expect(outcome(() => reader.readComponents(text, { bareNames }))).toEqual(
          outcome(() => readComponents(text, { bareNames })),
        );
      }),
      { numRuns: 3000 },
    );
  });
});
