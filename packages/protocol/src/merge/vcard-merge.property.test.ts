import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyEdits,
  type ContactModel,
  contactArb,
  type Edit,
  editsArb,
  escapeText,
  formatTel,
  renderContact,
} from '../test-support/contact-model.js';
import { deletedKeys, type Holdings, hold, requiredKeys } from '../test-support/oracle.js';
import { canonicalComponent } from './component-merge.js';
import { type ContentLine, parseContent } from './content-tree.js';
import { normalizeAddress, normalizeEmail, normalizeTel } from './normalize-value.js';
import { vcardRules } from './property-rules.js';
import { mergeVcard } from './vcard-merge.js';

const RUNS = 400;

type Kind = 'tel' | 'email' | 'adr' | 'x';
type Facts = Record<Kind, Holdings>;

function modelFacts(c: ContactModel): Facts {
  const facts: Facts = { tel: new Map(), email: new Map(), adr: new Map(), x: new Map() };
  for (const t of c.tels) hold(facts.tel, normalizeTel(formatTel(t)), JSON.stringify([formatTel(t), t.type, t.label]));
  for (const e of c.emails) hold(facts.email, normalizeEmail(e.address), JSON.stringify(e));
  for (const a of c.adrs) {
    const value = `;;${escapeText(a.street)};${escapeText(a.city)};;;${escapeText(a.country)}`;
    hold(facts.adr, normalizeAddress(value), JSON.stringify([value, a.type]));
  }
  for (const x of c.xprops) hold(facts.x, `${x.name.toLowerCase()}:${x.value.trim()}`, x.value);
  return facts;
}

function textKeys(text: string): Record<Kind, Set<string>> {
  const keys: Record<Kind, Set<string>> = { tel: new Set(), email: new Set(), adr: new Set(), x: new Set() };
  for (const line of parseContent(text, 'vCard').lines) {
    if (line.name === 'tel') keys.tel.add(normalizeTel(line.value));
    else if (line.name === 'email') keys.email.add(normalizeEmail(line.value));
    else if (line.name === 'adr') keys.adr.add(normalizeAddress(line.value));
    else if (line.name.startsWith('x-') && line.group === null) keys.x.add(`${line.name}:${line.value.trim()}`);
  }
  return keys;
}

function required(base: Facts, local: Facts, remote: Facts, kind: Kind): string[] {
  return requiredKeys(base[kind], local[kind], remote[kind]);
}

interface Scenario {
  base: ContactModel;
  localEdits: Edit[];
  remoteEdits: Edit[];
  localTime: number;
  remoteTime: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  base: contactArb,
  localEdits: editsArb,
  remoteEdits: editsArb,
  localTime: fc.integer({ min: 0, max: 3 }),
  remoteTime: fc.integer({ min: 0, max: 3 }),
});

function texts(s: Scenario) {
  const local = applyEdits(s.base, s.localEdits);
  const remote = applyEdits(s.base, s.remoteEdits);
  return {
    models: { base: s.base, local, remote },
    base: renderContact(s.base),
    local: renderContact(local),
    remote: renderContact(remote),
  };
}

function meaning(text: string): string {
  return canonicalComponent(parseContent(text, 'vCard'), vcardRules);
}

describe('mergeVcard properties', () => {
  it('keeps every TEL, EMAIL, ADR and X- value of either replica unless it was explicitly deleted, and honours that delete', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const t = texts(s);
        const { merged } = mergeVcard(t.base, t.local, t.remote, { localTime: s.localTime, remoteTime: s.remoteTime });
        const facts = {
          base: modelFacts(t.models.base),
          local: modelFacts(t.models.local),
          remote: modelFacts(t.models.remote),
        };
        const got = textKeys(merged);
        for (const kind of ['tel', 'email', 'adr', 'x'] as const) {
          for (const key of required(facts.base, facts.local, facts.remote, kind)) {
            expect(got[kind], `${kind} ${key} missing from\n${merged}`).toContain(key);
          }
          for (const key of deletedKeys(facts.base[kind], facts.local[kind], facts.remote[kind])) {
            expect(got[kind], `${kind} ${key} was deleted but is in\n${merged}`).not.toContain(key);
          }
          // and nothing appears that neither replica holds
          for (const key of got[kind]) {
            expect(facts.local[kind].has(key) || facts.remote[kind].has(key), `${kind} ${key} invented`).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("never loses a contact's last phone number or email without an explicit delete", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const t = texts(s);
        const { merged } = mergeVcard(t.base, t.local, t.remote, { localTime: s.localTime, remoteTime: s.remoteTime });
        const got = textKeys(merged);
        const facts = {
          base: modelFacts(t.models.base),
          local: modelFacts(t.models.local),
          remote: modelFacts(t.models.remote),
        };
        const mustHave =
          required(facts.base, facts.local, facts.remote, 'tel').length +
          required(facts.base, facts.local, facts.remote, 'email').length;
        if (mustHave > 0) expect(got.tel.size + got.email.size).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('merge(base, x, x) means x; merge(base, base, r) is r; merge(base, l, base) is l', () => {
    fc.assert(
      fc.property(contactArb, editsArb, fc.integer(), fc.integer(), (base, edits, lt, rt) => {
        const b = renderContact(base);
        const x = renderContact(applyEdits(base, edits));
        const options = { localTime: lt, remoteTime: rt };
        const same = mergeVcard(b, x, x, options);
        expect(meaning(same.merged)).toBe(meaning(x));
        expect(same.conflicts).toEqual([]);
        // The side that carries every change comes back byte for byte.
        expect(mergeVcard(b, b, x, options)).toEqual({ merged: x, conflicts: [] });
        const kept = mergeVcard(b, x, b, options);
        expect(kept.conflicts).toEqual([]);
        expect(meaning(kept.merged)).toBe(meaning(x));
        if (meaning(x) !== meaning(b)) expect(kept.merged).toBe(x);
      }),
      { numRuns: RUNS },
    );
  });

  it('is symmetric: swapping replicas (and their times) gives the same contact', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const t = texts(s);
        const ab = mergeVcard(t.base, t.local, t.remote, { localTime: s.localTime, remoteTime: s.remoteTime });
        const ba = mergeVcard(t.base, t.remote, t.local, { localTime: s.remoteTime, remoteTime: s.localTime });
        // The sets never depend on which side is which.
        expect(textKeys(ba.merged)).toEqual(textKeys(ab.merged));
        // With distinct times every field has the same winner, so the whole contact is the same.
        if (s.localTime !== s.remoteTime) expect(meaning(ba.merged)).toBe(meaning(ab.merged));
        expect(ba.conflicts.length).toBe(ab.conflicts.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('resolves FN and NOTE three-way and reports every overwritten value', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const t = texts(s);
        const { merged, conflicts } = mergeVcard(t.base, t.local, t.remote, {
          localTime: s.localTime,
          remoteTime: s.remoteTime,
        });
        const fn = (text: string) => single(text, 'fn');
        const note = (text: string) => single(text, 'note');
        for (const [field, read] of [
          ['FN', fn],
          ['NOTE', note],
        ] as const) {
          const [b, l, r, m] = [read(t.base), read(t.local), read(t.remote), read(merged)];
          const later = s.localTime > s.remoteTime ? l : r;
          const expected = l === r ? r : l === b ? r : r === b ? l : l === null || r === null ? (l ?? r) : later;
          expect(m, field).toBe(expected);
          const lost = [l, r].filter((v) => v !== null && v !== m && v !== b);
          for (const value of lost) {
            expect(conflicts.some((c) => c.property === field && c.losingValue === `${field}:${value}`)).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps unknown X- properties through any merge, including when both replicas add them', () => {
    fc.assert(
      fc.property(scenario, fc.stringMatching(/^X-[A-Z]{2,8}$/), fc.string({ maxLength: 20 }), (s, name, raw) => {
        const value = raw.replace(/[\r\n]/g, ' ');
        const t = texts(s);
        const withX = (text: string) => text.replace('END:VCARD', () => `${name};X-PARAM=keep:${value}\r\nEND:VCARD`);
        const { merged } = mergeVcard(t.base, withX(t.local), t.remote, {
          localTime: s.localTime,
          remoteTime: s.remoteTime,
        });
        const line = parseContent(merged, 'vCard').lines.find(
          (l: ContentLine) => l.name === name.toLowerCase() && l.params['x-param'] === 'keep',
        );
        expect(line?.value).toBe(value);
      }),
      { numRuns: RUNS },
    );
  });
});

function single(text: string, name: string): string | null {
  const lines = parseContent(text, 'vCard').lines.filter((line) => line.name === name && line.group === null);
  return lines[0]?.value ?? null;
}
