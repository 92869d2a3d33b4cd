import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  address,
  applyEventEdits,
  type EventEdit,
  type EventModel,
  escapeIcal,
  eventArb,
  eventEditsArb,
  renderEvent,
} from '../test-support/event-model.js';
import { deletedKeys, type Holdings, hold, requiredKeys } from '../test-support/oracle.js';
import { canonicalComponent } from './component-merge.js';
import { parseContent } from './content-tree.js';
import { mergeIcalendar } from './icalendar-merge.js';
import { normalizeCalAddress, splitEscaped } from './normalize-value.js';
import { icalendarRules } from './property-rules.js';

const RUNS = 300;

type Kind = 'attendee' | 'exdate' | 'override' | 'alarm';

function holdings(e: EventModel): Record<Kind, Holdings> {
  const h: Record<Kind, Holdings> = { attendee: new Map(), exdate: new Map(), override: new Map(), alarm: new Map() };
  for (const a of e.attendees)
    hold(h.attendee, normalizeCalAddress(address(a)), JSON.stringify([address(a), a.partstat]));
  for (const d of e.exdates) hold(h.exdate, d, d);
  // An override is everything in its component; the series' own edits do not touch it.
  for (const o of e.overrides) hold(h.override, o.day, escapeIcal(o.summary));
  for (const a of e.alarms) hold(h.alarm, a.id, a.trigger);
  return h;
}

function found(text: string): Record<Kind, Set<string>> {
  const out: Record<Kind, Set<string>> = {
    attendee: new Set(),
    exdate: new Set(),
    override: new Set(),
    alarm: new Set(),
  };
  for (const event of parseContent(text, 'iCalendar').children) {
    const rid = event.lines.find((line) => line.name === 'recurrence-id');
    if (rid) out.override.add(rid.value.slice(0, 8));
    for (const line of event.lines) {
      if (line.name === 'attendee') out.attendee.add(normalizeCalAddress(line.value));
      if (line.name === 'exdate') for (const item of splitEscaped(line.value, ',')) out.exdate.add(item.slice(0, 8));
    }
    for (const alarm of event.children) {
      const id = alarm.lines.find((line) => line.name === 'x-wr-alarmuid');
      if (id) out.alarm.add(id.value);
    }
  }
  return out;
}

interface Scenario {
  base: EventModel;
  localEdits: EventEdit[];
  remoteEdits: EventEdit[];
  localTime: number;
  remoteTime: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  base: eventArb,
  localEdits: eventEditsArb,
  remoteEdits: eventEditsArb,
  localTime: fc.integer({ min: 0, max: 3 }),
  remoteTime: fc.integer({ min: 0, max: 3 }),
});

function meaning(text: string): string {
  return canonicalComponent(parseContent(text, 'iCalendar'), icalendarRules);
}

describe('mergeIcalendar properties', () => {
  it('keeps every attendee, excluded date, overridden occurrence and alarm unless explicitly deleted, and honours that delete', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const local = applyEventEdits(s.base, s.localEdits);
        const remote = applyEventEdits(s.base, s.remoteEdits);
        const { merged } = mergeIcalendar(renderEvent(s.base), renderEvent(local), renderEvent(remote), {
          localTime: s.localTime,
          remoteTime: s.remoteTime,
        });
        const [b, l, r] = [holdings(s.base), holdings(local), holdings(remote)];
        const got = found(merged);
        for (const kind of ['attendee', 'exdate', 'override', 'alarm'] as const) {
          for (const key of requiredKeys(b[kind], l[kind], r[kind])) {
            expect(got[kind], `${kind} ${key} missing from\n${merged}`).toContain(key);
          }
          for (const key of deletedKeys(b[kind], l[kind], r[kind])) {
            expect(got[kind], `${kind} ${key} was deleted but is in\n${merged}`).not.toContain(key);
          }
          for (const key of got[kind]) {
            expect(l[kind].has(key) || r[kind].has(key), `${kind} ${key} invented`).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('merge(base, x, x) means x, and a side equal to base gives the other side back', () => {
    fc.assert(
      fc.property(eventArb, eventEditsArb, (base, edits) => {
        const b = renderEvent(base);
        const x = renderEvent(applyEventEdits(base, edits));
        expect(meaning(mergeIcalendar(b, x, x).merged)).toBe(meaning(x));
        expect(mergeIcalendar(b, b, x)).toEqual({ merged: x, conflicts: [] });
        expect(meaning(mergeIcalendar(b, x, b).merged)).toBe(meaning(x));
      }),
      { numRuns: RUNS },
    );
  });

  it('is symmetric: swapping replicas and their times gives the same calendar', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const [b, l, r] = [s.base, applyEventEdits(s.base, s.localEdits), applyEventEdits(s.base, s.remoteEdits)].map(
          renderEvent,
        ) as [string, string, string];
        const ab = mergeIcalendar(b, l, r, { localTime: s.localTime, remoteTime: s.remoteTime });
        const ba = mergeIcalendar(b, r, l, { localTime: s.remoteTime, remoteTime: s.localTime });
        expect(found(ba.merged)).toEqual(found(ab.merged));
        if (s.localTime !== s.remoteTime) expect(meaning(ba.merged)).toBe(meaning(ab.merged));
      }),
      { numRuns: RUNS },
    );
  });
});
