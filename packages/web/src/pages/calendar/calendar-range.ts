/** The three ways the calendar shows time, and the stretch of days each one covers. */
export type CalendarMode = 'month' | 'week' | 'agenda';

/** Weeks start on Monday. */
export function startOfWeek(date: Date): Date {
  const day = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
  return day;
}

export function addDays(date: Date, days: number): Date {
  const next = new Date(date);
  next.setDate(next.getDate() + days);
  return next;
}

export function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** The first shown day and the day after the last: whole weeks for a month, one week, or 30 days of agenda. */
export function rangeOf(mode: CalendarMode, anchor: Date): { from: Date; to: Date } {
  if (mode === 'week') {
    const from = startOfWeek(anchor);
    return { from, to: addDays(from, 7) };
  }
  if (mode === 'agenda') {
    const from = new Date(anchor.getFullYear(), anchor.getMonth(), anchor.getDate());
    return { from, to: addDays(from, 30) };
  }
  const first = new Date(anchor.getFullYear(), anchor.getMonth(), 1);
  const from = startOfWeek(first);
  const last = new Date(anchor.getFullYear(), anchor.getMonth() + 1, 0);
  return { from, to: addDays(startOfWeek(last), 7) };
}

/** The anchor one step back or forward in the current mode. */
export function step(mode: CalendarMode, anchor: Date, direction: 1 | -1): Date {
  if (mode === 'month') return new Date(anchor.getFullYear(), anchor.getMonth() + direction, 1);
  return addDays(anchor, direction * (mode === 'week' ? 7 : 30));
}

/** The heading that names the shown range. */
export function titleOf(mode: CalendarMode, anchor: Date): string {
  if (mode === 'month') return anchor.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
  const { from, to } = rangeOf(mode, anchor);
  const fmt: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', year: 'numeric' };
  return `${from.toLocaleDateString(undefined, fmt)} – ${addDays(to, -1).toLocaleDateString(undefined, fmt)}`;
}
