import { parseContentLine, unfoldLines } from '../content/content-lines.js';
import { type SemanticComponent, type SemanticProperty, semanticProperty } from '../content/semantic.js';

/** A component with the line it starts on, and its children likewise. */
export interface LocatedComponent extends SemanticComponent {
  line: number;
  components: LocatedComponent[];
}

/**
 * Reads a corpus file as the test's own reference: the way a reader that
 * gives up on nothing sees it. A line that is not a valid content line
 * becomes an `UNPARSEABLE` property holding its raw text (so a component
 * with one is never equal to a clean one); lines outside any component are
 * returned separately with their line numbers.
 */
export function tolerantParse(text: string): { components: LocatedComponent[]; outside: number[] } {
  const top: LocatedComponent[] = [];
  const stack: LocatedComponent[] = [];
  const outside: number[] = [];
  for (const raw of unfoldLines(text)) {
    let property: SemanticProperty;
    try {
      property = semanticProperty(parseContentLine(raw, { bareNames: true }));
    } catch {
      property = { group: '', name: 'UNPARSEABLE', params: [], value: [raw.text] };
    }
    const current = stack.at(-1);
    if (property.name === 'BEGIN' && property.group === '') {
      const component: LocatedComponent = {
        name: (property.value[0] ?? '').trim().toUpperCase(),
        line: raw.line,
        properties: [],
        components: [],
      };
      (current ? current.components : top).push(component);
      stack.push(component);
    } else if (property.name === 'END' && property.group === '') {
      if (current) stack.pop();
      else outside.push(raw.line);
    } else if (current) {
      current.properties.push(property);
    } else {
      outside.push(raw.line);
    }
  }
  return { components: top, outside };
}
