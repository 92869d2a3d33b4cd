import { describe, expect, it } from 'vitest';
import { parseXmlText } from './xml-parse.js';
import { parseSimpleXml } from './xml-parse-simple.js';

const predefined = () => new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]);
const simple = (text: string, maxDepth = 32) => parseSimpleXml(text, maxDepth, predefined());
const general = (text: string, maxDepth = 32) => parseXmlText(text, { maxBytes: 1 << 20, maxDepth });

const multiget = `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop>
${Array.from({ length: 100 }, (_, i) => `<D:href>/dav/addressbooks/alice/book/${i}.vcf</D:href>`).join('\n')}
</C:addressbook-multiget>`;

describe('plain DAV XML reader', () => {
  it.each([
    ['a multiget of a hundred hrefs', multiget],
    [
      'a PROPFIND with a default namespace',
      '<propfind xmlns="DAV:"><prop><getetag /><resourcetype/></prop></propfind>',
    ],
    [
      'a sync-collection with whitespace, tabs and line breaks in tags',
      '\uFEFF<?xml version="1.0"?>\n<D:sync-collection\n\txmlns:D="DAV:"><D:sync-token>https://x/y?z=1</D:sync-token>\n<D:sync-level\r\n>1</D:sync-level ><D:prop><D:getetag/></D:prop></D:sync-collection>\n',
    ],
    [
      'redeclared prefixes, attributes and text beside children',
      `<a:x xmlns:a="DAV:" xmlns="urn:o" n='1' a:m="2">t <a:y xmlns:a="urn:b" name="é 李"><z/>u</a:y> v</a:x>`,
    ],
    ['an undeclared default namespace', '<x><y/></x>'],
  ])('reads %s as the general parser does', (_label, text) => {
    const read = simple(text);
    expect(read).not.toBeNull();
    expect(read).toEqual(general(text));
  });

  it.each([
    ['a reference', '<d:x xmlns:d="DAV:">&amp;</d:x>'],
    ['a comment', '<d:x xmlns:d="DAV:"><!-- c --></d:x>'],
    ['CDATA', '<d:x xmlns:d="DAV:"><![CDATA[a]]></d:x>'],
    ['a DOCTYPE', '<!DOCTYPE x><x/>'],
    ['a processing instruction after the start', '<x><?pi a?></x>'],
    ['a carriage return in text', '<x>a\r\nb</x>'],
    ['a line break in an attribute value', '<x a="1\n2"/>'],
    ['a control character', '<x>\u0001</x>'],
    ['mismatched tags', '<x><y></x></y>'],
    ['an unclosed element', '<x><y/>'],
    ['an undeclared prefix', '<d:x/>'],
    ['a repeated attribute', '<x a="1" a="2"/>'],
    ['two roots', '<x/><y/>'],
    ['text after the root', '<x/>t'],
    ['an empty document', '<?xml version="1.0"?>'],
    ['nesting past the limit', '<a><b><c></c></b></a>', 2],
  ])('leaves %s to the general parser', (_label, text, maxDepth = 32) => {
    expect(simple(text, maxDepth)).toBeNull();
  });

  it('never answers differently from the general parser on generated documents', () => {
    let seed = 7;
    const pick = <T>(list: T[]): T => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return list[seed % list.length] as T;
    };
    const names = ['a', 'D:b', 'C:c', 'd:prop', '_q', 'a.b-c', 'D:a:b', 'E:z', 'xmlns:f', 'xml:lang'];
    const spaces = ['', ' ', '\n', '\t', '\r\n'];
    const texts = ['', 'hi', ' ', '\n  ', 'a>b', 'x\ry', 'é 李', '&amp;', ']]>', "'", '"', '='];
    const attributes = ['xmlns="DAV:"', 'xmlns:D="DAV:"', "xmlns:C='urn:c'", 'a="1"', 'D:a="2"', 'a="1" a="2"'];
    const more = ['b="x\ny"', 'xmlns=""', 'q:r="s"', `v='"'`, 'e="a>b"', 'n = "1"'];
    const element = (depth: number): string => {
      const name = pick(names);
      let attrs = '';
      for (let k = Number(pick(['0', '1', '2'])); k > 0; k--)
        attrs += pick([' ', ' ', pick(spaces)]) + pick([...attributes, ...more]);
      if (depth > 4 || pick([true, false, false])) return `<${name}${attrs}${pick(spaces)}/>`;
      let inner = '';
      for (let k = Number(pick(['0', '1', '2', '3'])); k > 0; k--) inner += pick(texts) + element(depth + 1);
      const close = pick([name, name, name, name, pick(names)]);
      return `<${name}${attrs}${pick(spaces)}>${inner}${pick(texts)}</${close}${pick(spaces)}>`;
    };
    let answered = 0;
    for (let n = 0; n < 20_000; n++) {
      const root = element(0).replace(/^<[\w:.-]+/, (open) => `${open} xmlns:D="DAV:" xmlns:C="urn:c"`);
      const text = pick(['', '<?xml version="1.0"?>\n', '\uFEFF', ' ']) + root + pick(['', '\n', 't']);
      const read = simple(text, 4);
      if (read === null) continue;
      answered++;
      expect(read).toEqual(general(text, 4));
    }
    // Enough documents are plain for the comparison to mean something.
    expect(answered).toBeGreaterThan(500);
  });
});
