import type { ContentComponent, ContentLine } from './content-tree.js';
import {
  normalizeAddress,
  normalizeCalAddress,
  normalizeEmail,
  normalizeTel,
  normalizeText,
} from './normalize-value.js';

/**
 * How a single-valued property resolves when both sides changed it:
 * `conflict` takes the later writer and records the loser; `quiet` takes the
 * later writer without a record (revision stamps describe the write, not the
 * data); `max` takes the larger integer (SEQUENCE must never go backwards).
 */
export type SingleMode = 'conflict' | 'quiet' | 'max';

/**
 * What the merge needs to know about one format. Any property not listed as
 * single-valued (including every X- and unknown property) is a member of an
 * add-wins set, which is the choice that can never drop a value.
 */
export interface PropertyRules {
  /** Single-valued properties: all their ungrouped lines merge as one field. */
  single: ReadonlyMap<string, SingleMode>;
  /** Properties whose value is a comma list merged item by item (CATEGORIES). */
  listValued: ReadonlySet<string>;
  /** Properties that describe the other members of their group (Apple labels). */
  companions: ReadonlySet<string>;
  /** The normalised identity of a set member (one list item for list-valued properties). */
  identity(line: ContentLine): string;
  /** The identity of a nested component, before duplicates are numbered. */
  componentIdentity(component: ContentComponent): string;
  /** Components merged as a whole instead of property by property. */
  atomicComponents: ReadonlySet<string>;
}

function singles(conflict: string[], quiet: string[], max: string[] = []): ReadonlyMap<string, SingleMode> {
  return new Map<string, SingleMode>([
    ...conflict.map((name) => [name, 'conflict'] as const),
    ...quiet.map((name) => [name, 'quiet'] as const),
    ...max.map((name) => [name, 'max'] as const),
  ]);
}

/** vCard 2.1 to 4.0 (RFC 2426, RFC 6350 and the vendor labels seen in the corpus). */
export const vcardRules: PropertyRules = {
  single: singles(
    [
      'version',
      'uid',
      'fn',
      'n',
      'bday',
      'anniversary',
      'gender',
      'kind',
      'org',
      'title',
      'role',
      'note',
      'photo',
      'logo',
      'sound',
      'tz',
      'geo',
      'sort-string',
      'class',
      'name',
      'mailer',
      'birthplace',
      'deathplace',
      'deathdate',
    ],
    ['rev', 'prodid'],
  ),
  listValued: new Set(['categories', 'nickname']),
  companions: new Set(['x-ablabel', 'x-abadr']),
  identity(line) {
    switch (line.name) {
      case 'tel':
        return normalizeTel(line.value);
      case 'email':
        return normalizeEmail(line.value);
      case 'adr':
        return normalizeAddress(line.value);
      default:
        return knownOrRaw(line);
    }
  },
  componentIdentity: (component) => component.name,
  atomicComponents: new Set(),
};

const TEXT_IDENTITY = new Set([
  'url',
  'impp',
  'x-socialprofile',
  'related',
  'member',
  'categories',
  'nickname',
  'resources',
  'comment',
  'contact',
  'label',
]);

function knownOrRaw(line: ContentLine): string {
  // X- and unknown values keep their exact text (their escaping is unknown).
  return TEXT_IDENTITY.has(line.name) ? normalizeText(line.value) : line.value.trim();
}

/** iCalendar (RFC 5545, RFC 7986) for VCALENDAR and everything nested in it. */
export const icalendarRules: PropertyRules = {
  single: singles(
    [
      'version',
      'calscale',
      'method',
      'uid',
      'recurrence-id',
      'summary',
      'description',
      'location',
      'dtstart',
      'dtend',
      'due',
      'duration',
      'status',
      'priority',
      'rrule',
      'class',
      'transp',
      'url',
      'geo',
      'organizer',
      'percent-complete',
      'completed',
      'color',
      'name',
      'refresh-interval',
      'source',
      'action',
      'trigger',
      'repeat',
      'tzid',
      'tzurl',
      'tzoffsetfrom',
      'tzoffsetto',
    ],
    ['dtstamp', 'last-modified', 'created', 'prodid'],
    ['sequence'],
  ),
  listValued: new Set(['categories', 'resources', 'exdate', 'rdate']),
  companions: new Set(),
  identity(line) {
    switch (line.name) {
      case 'attendee':
        return normalizeCalAddress(line.value);
      case 'exdate':
      case 'rdate':
        // The same digits mean another instant in another zone or as a DATE.
        return `${line.valueType};${paramText(line, 'tzid')};${line.value.trim()}`;
      case 'related-to':
        return `${paramText(line, 'reltype').toUpperCase() || 'PARENT'};${line.value.trim()}`;
      default:
        return knownOrRaw(line);
    }
  },
  componentIdentity(component) {
    const value = (name: string) => component.lines.find((line) => line.name === name);
    if (component.name === 'vtimezone') return `vtimezone;${value('tzid')?.value ?? ''}`;
    if (component.name === 'valarm') {
      const uid = value('uid') ?? value('x-wr-alarmuid');
      if (uid) return `valarm;uid;${uid.value}`;
      const trigger = value('trigger');
      return `valarm;${value('action')?.value ?? ''};${paramText(trigger, 'related')};${trigger?.value ?? ''}`;
    }
    const rid = value('recurrence-id');
    const ridKey = rid ? `${rid.valueType};${paramText(rid, 'tzid')};${paramText(rid, 'range')};${rid.value}` : '';
    return `${component.name};${value('uid')?.value ?? ''};${ridKey}`;
  },
  atomicComponents: new Set(['vtimezone']),
};

function paramText(line: ContentLine | undefined, name: string): string {
  const value = line?.params[name];
  return value === undefined ? '' : typeof value === 'string' ? value : value.join(',');
}
