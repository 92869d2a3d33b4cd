/** One line of a diff between two versions of an item. */
export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

const LABELS: Record<string, string> = {
  FN: 'Name',
  N: 'Name parts',
  NICKNAME: 'Nicknames',
  TEL: 'Phone',
  EMAIL: 'E-mail',
  ADR: 'Address',
  ORG: 'Organization',
  TITLE: 'Job title',
  BDAY: 'Birthday',
  NOTE: 'Note',
  URL: 'Web site',
  SUMMARY: 'Title',
  DTSTART: 'Starts',
  DTEND: 'Ends',
  DUE: 'Due',
  RRULE: 'Repeats',
  LOCATION: 'Place',
  DESCRIPTION: 'Description',
  STATUS: 'Status',
};

/** Lines that change on every save and say nothing to a person. */
const NOISE = new Set(['VERSION', 'PRODID', 'REV', 'DTSTAMP', 'LAST-MODIFIED', 'SEQUENCE', 'UID']);

/**
 * An item's content as lines a person can read: vCard and iCalendar
 * properties as "Phone (cell): +1 555 0100", JSON content as "title: …".
 */
export function readableLines(content: unknown): string[] {
  if (content === null || content === undefined) return [];
  if (typeof content !== 'string') {
    return Object.entries(content as Record<string, unknown>).map(
      ([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    );
  }
  const lines = content
    .replace(/\r\n|\r/g, '\n')
    .replace(/\n[ \t]/g, '')
    .split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const [rawName = '', ...params] = line.slice(0, colon).split(';');
    const name = (rawName.includes('.') ? rawName.slice(rawName.indexOf('.') + 1) : rawName).toUpperCase();
    if (name === 'BEGIN' || name === 'END' || NOISE.has(name)) continue;
    const type = params.find((p) => /^type=/i.test(p))?.slice(5);
    const value = line
      .slice(colon + 1)
      .replace(/\\n/gi, ' / ')
      .replace(/\\([,;\\])/g, '$1');
    const label = LABELS[name] ?? name.charAt(0) + name.slice(1).toLowerCase();
    out.push(`${label}${type ? ` (${type.toLowerCase()})` : ''}: ${value}`);
  }
  return out;
}

/** A line diff by longest common subsequence; items are small, so the quadratic table is fine. */
export function diffLines(before: string[], after: string[]): DiffLine[] {
  const n = before.length;
  const m = after.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const row = table[i] as number[];
      row[j] =
        before[i] === after[j]
          ? ((table[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((table[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (before[i] === after[j]) {
      out.push({ kind: 'same', text: before[i] as string });
      i++;
      j++;
    } else if (((table[i + 1] as number[])[j] as number) >= ((table[i] as number[])[j + 1] as number)) {
      out.push({ kind: 'removed', text: before[i++] as string });
    } else out.push({ kind: 'added', text: after[j++] as string });
  }
  while (i < n) out.push({ kind: 'removed', text: before[i++] as string });
  while (j < m) out.push({ kind: 'added', text: after[j++] as string });
  return out;
}
