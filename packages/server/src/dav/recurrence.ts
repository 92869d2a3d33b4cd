import { AppError, loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { davError } from './dav-error.js';
import { DAV } from './xml-write.js';

/** The precondition a REPORT that ran out of recurrence work is refused with. */
export const WITHIN_LIMITS = { ns: DAV, name: 'number-of-matches-within-limits' };

/**
 * The recurrence instances one REPORT may still compute, across all its
 * events, so no request can keep the server busy for long however its
 * calendars are built. Long walks also hand the event loop back to other
 * requests every few milliseconds.
 */
export interface RecurrenceBudget {
  left: number;
  /** performance.now() when the walk last yielded to the event loop. */
  since: number;
}

export function recurrenceBudget(steps: number): RecurrenceBudget {
  return { left: steps, since: performance.now() };
}

/** True for the error a spent budget throws. */
export function isBudgetSpent(error: unknown): boolean {
  const precondition = error instanceof AppError ? (error.details?.precondition as { name?: string }) : undefined;
  return precondition?.name === WITHIN_LIMITS.name;
}

const YIELD_EVERY_MS = 4;

/** Spends one step; throws when none are left, and lets other work run now and then. */
export async function spend(budget: RecurrenceBudget): Promise<void> {
  budget.left -= 1;
  if (budget.left < 0) {
    throw davError(
      'forbidden',
      'The report would compute too many recurrence instances; ask for a narrower time range.',
      WITHIN_LIMITS,
    );
  }
  if ((budget.left & 31) === 0 && performance.now() - budget.since > YIELD_EVERY_MS) {
    await new Promise((resolve) => setImmediate(resolve));
    budget.since = performance.now();
  }
}

/** Each rule's period in wall-clock seconds; longer FREQs have uneven periods and are walked. */
const PERIOD_SECONDS: Record<string, number> = {
  SECONDLY: 1,
  MINUTELY: 60,
  HOURLY: 3600,
  DAILY: 86_400,
  WEEKLY: 7 * 86_400,
};

/** Fewer periods than this are walked as before: jumping only pays for dense or old rules. */
const MIN_SKIP = 16;

/** Wall-clock slack for zoned times: a DST change moves wall time against absolute time by this at most. */
const ZONE_SLACK = 2 * 3600;
/** ±14 hours: the widest UTC offsets in use, by which a floating time may be early. */
const FLOATING_SLACK = 14 * 3600;

/**
 * An iterator over a recurring event's instance starts that begins near
 * the range's start (Unix seconds), less one instance's span, instead of at
 * DTSTART, where that is exact.
 *
 * ical.js iterators cannot seek, and starting one at a later time treats that
 * time as DTSTART. That gives the same instances only when the later time lies
 * on the rule's period grid and nothing depends on the instances skipped. So a
 * jump is made only for one RRULE with FREQ from SECONDLY to WEEKLY (fixed
 * wall-clock periods), without COUNT (which counts from DTSTART) or BYSETPOS
 * (which selects within a period), with no overrides of skipped instances, and
 * for a start that is UTC, floating, or in a zone with a VTIMEZONE. The new
 * start is DTSTART plus a whole number of periods in wall-clock time, at least
 * a period before `from`, so the BY* parts select the same instances; the
 * extra first instance an ical.js iterator always yields (its start) lies
 * before `from` and is never in range. Everything else is walked from
 * DTSTART, under the budget.
 */
export function iteratorFrom(event: ICAL.Event, rangeStart: number, span: number): ICAL.RecurExpansion {
  return event.iterator(jumpStart(event, rangeStart - span) ?? undefined);
}

function jumpStart(event: ICAL.Event, from: number): ICAL.Time | null {
  if (!Number.isFinite(from)) return null;
  const component = event.component;
  const rules = component.getAllProperties('rrule');
  if (rules.length !== 1 || component.hasProperty('exrule') || event.rangeExceptions.length > 0) return null;
  const rule = rules[0]?.getFirstValue();
  if (!(rule instanceof loadIcal().Recur) || rule.count || rule.parts.BYSETPOS) return null;
  const period = PERIOD_SECONDS[rule.freq];
  const start = event.startDate;
  if (!period || (start.isDate && period < 86_400)) return null;
  const target = wallSeconds(start, from);
  if (target === null) return null;
  const step = period * (rule.interval || 1);
  const skip = Math.floor((target - fieldSeconds(start)) / step) - 1;
  if (skip < MIN_SKIP) return null;
  const jumped = start.clone();
  if (period >= 86_400) jumped.adjust((skip * step) / 86_400, 0, 0, 0);
  else jumped.adjust(0, 0, 0, skip * step);
  // An override of an instance before the new start could move it into the range.
  // ical.js keeps exceptions keyed by recurrence id, whatever its typings say.
  for (const exception of Object.values(event.exceptions as unknown as Record<string, ICAL.Event>)) {
    if (exception.recurrenceId && exception.recurrenceId.compare(jumped) < 0) return null;
  }
  return jumped;
}

/** `from`, less the zone's slack, as a wall-clock time in `start`'s zone, as field seconds; null if unknown. */
function wallSeconds(start: ICAL.Time, from: number): number | null {
  const zone = start.zone;
  if (start.isDate || zone === loadIcal().Timezone.localTimezone || zone?.tzid === 'floating')
    return from - FLOATING_SLACK;
  if (zone === loadIcal().Timezone.utcTimezone || zone?.tzid === 'UTC') return from;
  if (!zone?.component) return null;
  const utc = loadIcal().Time.fromData({ year: 1970, month: 1, day: 1 }, loadIcal().Timezone.utcTimezone);
  utc.fromUnixTime(from - ZONE_SLACK);
  return fieldSeconds(utc.convertToZone(zone));
}

/** The fields of a time read as if UTC: wall-clock seconds, for arithmetic on the period grid. */
function fieldSeconds(time: ICAL.Time): number {
  return Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second) / 1000;
}
