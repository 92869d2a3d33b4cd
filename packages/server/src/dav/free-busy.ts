import { AppError, loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import { parseTimeRange, type TimeRange } from './calendar-filter.js';
import { davError } from './dav-error.js';
import type { DavResource } from './dav-paths.js';
import { allItems } from './dav-store.js';
import type { Scope } from './properties.js';
import { isBudgetSpent, iteratorFrom, type RecurrenceBudget, recurrenceBudget, spend } from './recurrence.js';
import { childOf, type XmlElement } from './xml-parse.js';
import { CALDAV, DAV } from './xml-write.js';

type FbType = 'BUSY' | 'BUSY-TENTATIVE';
interface Period {
  start: number;
  end: number;
  type: FbType;
}

const MAX_INSTANCES = 20_000;

/**
 * RFC 4791 §7.10 free-busy-query on a calendar: one VFREEBUSY for the
 * requested range, from the calendar's opaque, not cancelled events,
 * recurrences expanded under the request's recurrence budget. Tentative
 * events are BUSY-TENTATIVE, everything else BUSY; overlapping periods of
 * one type are merged. Floating and all-day times are read as UTC: a free-busy
 * answer has no time zone to read them in.
 */
export async function freeBusyQuery(scope: Scope, target: DavResource, body: XmlElement): Promise<string> {
  if (target.kind === 'absent-collection') throw new AppError('not_found', 'Nothing here.');
  if (target.kind !== 'collection' || target.collection.type === 'contacts') {
    throw davError('forbidden', 'free-busy-query applies to calendars only.', { ns: DAV, name: 'supported-report' });
  }
  const range = parseTimeRange(childOf(body, CALDAV, 'time-range'));
  if (!range || !Number.isFinite(range.start) || !Number.isFinite(range.end)) {
    throw davError('forbidden', 'free-busy-query needs a time-range with a start and an end.', {
      ns: CALDAV,
      name: 'valid-filter',
    });
  }
  const budget = recurrenceBudget(scope.ctx.config.davMaxRecurrenceSteps);
  const periods: Period[] = [];
  for await (const page of allItems(scope.ctx, scope.caller.userId, target.collection, true)) {
    for (const item of page) periods.push(...(await busyPeriods(item.content ?? '', range, budget)));
  }
  return render(range, merge(periods), scope.ctx.now());
}

async function busyPeriods(text: string, range: TimeRange, budget: RecurrenceBudget): Promise<Period[]> {
  let root: ICAL.Component;
  try {
    root = new (loadIcal().Component)(loadIcal().parse(text) as unknown[]);
  } catch {
    return [];
  }
  const out: Period[] = [];
  try {
    const events = root.getAllSubcomponents('vevent');
    for (const master of events.filter((e) => !e.hasProperty('recurrence-id') && e.hasProperty('dtstart'))) {
      const uid = master.getFirstPropertyValue('uid');
      const overrides = events.filter((e) => e.hasProperty('recurrence-id') && e.getFirstPropertyValue('uid') === uid);
      const event = new (loadIcal().Event)(master, { exceptions: overrides });
      if (!event.isRecurring()) {
        addPeriod(out, master, event.startDate, event.endDate, range);
        continue;
      }
      const span = Math.max(0, event.endDate.toUnixTime() - event.startDate.toUnixTime());
      const iterator = iteratorFrom(event, range.start, span);
      for (let n = 0; n < MAX_INSTANCES; n++) {
        await spend(budget);
        const next = iterator.next();
        if (!next || next.toUnixTime() >= range.end) break;
        const details = event.getOccurrenceDetails(next);
        addPeriod(out, details.item.component, details.startDate, details.endDate, range);
      }
    }
  } catch (error) {
    if (isBudgetSpent(error)) throw error;
  }
  return out;
}

function addPeriod(out: Period[], component: ICAL.Component, start: ICAL.Time, end: ICAL.Time, range: TimeRange) {
  const transp = String(component.getFirstPropertyValue('transp') ?? 'OPAQUE').toUpperCase();
  const status = String(component.getFirstPropertyValue('status') ?? '').toUpperCase();
  if (transp === 'TRANSPARENT' || status === 'CANCELLED') return;
  const a = Math.max(start.toUnixTime(), range.start);
  const b = Math.min(end.toUnixTime(), range.end);
  if (b <= a) return;
  out.push({ start: a, end: b, type: status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY' });
}

function merge(periods: Period[]): Period[] {
  const out: Period[] = [];
  for (const type of ['BUSY', 'BUSY-TENTATIVE'] as const) {
    const sorted = periods.filter((p) => p.type === type).sort((x, y) => x.start - y.start);
    let current: Period | null = null;
    for (const p of sorted) {
      if (current && p.start <= current.end) current.end = Math.max(current.end, p.end);
      else {
        current = { ...p };
        out.push(current);
      }
    }
  }
  return out.sort((x, y) => x.start - y.start);
}

function utc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

function render(range: TimeRange, periods: Period[], now: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Holdfast//CalDAV//EN',
    'BEGIN:VFREEBUSY',
    `DTSTAMP:${utc(Math.floor(now / 1000))}`,
    `DTSTART:${utc(range.start)}`,
    `DTEND:${utc(range.end)}`,
    ...periods.map((p) => `FREEBUSY;FBTYPE=${p.type}:${utc(p.start)}/${utc(p.end)}`),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
