import { type ContentLine, readComponents, unquote } from '../content/content-lines.js';
import { davError } from './dav-error.js';
import { parseTextMatch, type TextMatch, textMatches } from './text-match.js';
import { childOf, childrenOf, type XmlElement } from './xml-parse.js';
import { CARDDAV } from './xml-write.js';

type Test = 'anyof' | 'allof';

interface ParamFilter {
  name: string;
  isNotDefined: boolean;
  textMatch: TextMatch | null;
}

interface PropFilter {
  name: string;
  test: Test;
  isNotDefined: boolean;
  textMatches: TextMatch[];
  params: ParamFilter[];
}

/** An RFC 6352 §10.5 addressbook-query filter. */
export interface CardFilter {
  test: Test;
  props: PropFilter[];
}

const DEFAULT_COLLATION = 'i;unicode-casemap';

function testOf(element: XmlElement): Test {
  const test = element.attrs.test ?? 'anyof';
  if (test !== 'anyof' && test !== 'allof') {
    throw davError('forbidden', `Unsupported filter test '${test}'.`, { ns: CARDDAV, name: 'supported-filter' });
  }
  return test;
}

export function parseCardFilter(filter: XmlElement | undefined): CardFilter {
  if (!filter) return { test: 'anyof', props: [] };
  return {
    test: testOf(filter),
    props: childrenOf(filter, CARDDAV, 'prop-filter').map((p) => ({
      name: (p.attrs.name ?? '').toUpperCase(),
      test: testOf(p),
      isNotDefined: childOf(p, CARDDAV, 'is-not-defined') !== undefined,
      textMatches: childrenOf(p, CARDDAV, 'text-match').map((t) => parseTextMatch(t, DEFAULT_COLLATION, CARDDAV)),
      params: childrenOf(p, CARDDAV, 'param-filter').map((f) => {
        const text = childOf(f, CARDDAV, 'text-match');
        return {
          name: (f.attrs.name ?? '').toUpperCase(),
          isNotDefined: childOf(f, CARDDAV, 'is-not-defined') !== undefined,
          textMatch: text ? parseTextMatch(text, DEFAULT_COLLATION, CARDDAV) : null,
        };
      }),
    })),
  };
}

/** Whether a stored vCard passes the filter. An unreadable card passes: better listed than hidden. */
export function matchCard(filter: CardFilter, text: string): boolean {
  if (filter.props.length === 0) return true;
  let lines: ContentLine[];
  try {
    lines = readComponents(text, { bareNames: true })[0]?.properties ?? [];
  } catch {
    return true;
  }
  const results = filter.props.map((p) => matchProp(p, lines));
  return filter.test === 'allof' ? results.every(Boolean) : results.some(Boolean);
}

function matchProp(filter: PropFilter, lines: ContentLine[]): boolean {
  const instances = lines.filter((line) => line.name.toUpperCase() === filter.name);
  if (filter.isNotDefined) return instances.length === 0;
  if (instances.length === 0) return false;
  const tests = filter.textMatches.length + filter.params.length;
  if (tests === 0) return true;
  return instances.some((line) => {
    const value = unescapeValue(line.value);
    const results = [
      ...filter.textMatches.map((match) => textMatches(match, value)),
      ...filter.params.map((param) => matchParam(param, line)),
    ];
    return filter.test === 'allof' ? results.every(Boolean) : results.some(Boolean);
  });
}

function matchParam(filter: ParamFilter, line: ContentLine): boolean {
  // vCard 2.1 bare parameters (`TEL;WORK:`) are TYPE values.
  const values = line.params
    .filter((p) => (p.name ?? 'TYPE').toUpperCase() === filter.name)
    .flatMap((p) => (p.name === null ? [p.value] : unquote(p.value).split(',')));
  if (filter.isNotDefined) return values.length === 0;
  if (values.length === 0) return false;
  const match = filter.textMatch;
  return match === null || values.some((value) => textMatches(match, value));
}

function unescapeValue(value: string): string {
  return value.replace(/\\([\\,;nN])/g, (_all, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}
