import { loadIcal } from '@holdfast/protocol';
import type ICAL from 'ical.js';
import {
  type ContentComponent,
  type ContentLine,
  ContentLineError,
  formatForParser,
  preview,
} from './content-lines.js';

/** A jCal/jCard component: [name, properties, subcomponents]. */
export type JcalComponent = [string, unknown[], JcalComponent[]];

/** The rules ical.js applies to one kind of data (iCalendar, vCard 3, vCard 4). */
export type DesignSet = NonNullable<Parameters<typeof ICAL.parse.property>[1]>;

export interface JcalOptions {
  /** Rewrites a line before ical.js reads it (validation only; the caller keeps the original text). */
  prepare?: (line: ContentLine) => ContentLine;
  /**
   * Lower-case names of properties whose values are also decoded (dates into
   * ICAL.Time and so on), so a bad value is reported with its line here
   * instead of failing later without one.
   */
  decode?: ReadonlySet<string>;
  /** Lines left out of the tree unparsed: the caller knows ical.js reads them without fail and needs no value of them. */
  skip?: (line: ContentLine) => boolean;
}

/**
 * Parses every property with ical.js, one line at a time so a failure names
 * its line, and assembles the jCal tree.
 */
export function toJcal(component: ContentComponent, designSet: DesignSet, options: JcalOptions = {}): JcalComponent {
  const skip = options.skip;
  const properties = (skip ? component.properties.filter((line) => !skip(line)) : component.properties).map((line) =>
    parseProperty(line, designSet, options),
  );
  const components = component.components.map((child) => toJcal(child, designSet, options));
  return [component.name.toLowerCase(), properties, components];
}

function parseProperty(original: ContentLine, designSet: DesignSet, options: JcalOptions): unknown {
  const line = options.prepare ? options.prepare(original) : original;
  try {
    const jcal: unknown = loadIcal().parse.property(formatForParser(line), designSet);
    if (options.decode?.has(line.name.toLowerCase())) new (loadIcal().Property)(jcal as unknown[]).getValues();
    return jcal;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ContentLineError(line.line, `${line.name}: ${preview(reason, 160)}`);
  }
}
