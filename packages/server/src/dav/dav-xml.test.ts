import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavCall, type DavUser, davClient } from '../test-support/dav.js';
import { davSegments } from './dav-paths.js';
import { childOf, parseXml } from './xml-parse.js';
import { escapeText } from './xml-write.js';

const parse = (text: string) => parseXml(Buffer.from(text, 'utf8'));

describe('DAV XML parser', () => {
  it('resolves namespaces by URI, whatever the prefixes', () => {
    const root = parse(
      '<?xml version="1.0"?>\n<A:propfind xmlns:A="DAV:" xmlns="urn:other"><A:prop\n\txmlns:Z="http://apple.com/ns/ical/"><Z:calendar-color/><plain/></A:prop></A:propfind>',
    );
    expect(root).toMatchObject({ ns: 'DAV:', name: 'propfind' });
    const prop = childOf(root, 'DAV:', 'prop');
    expect(prop?.children.map((c) => [c.ns, c.name])).toEqual([
      ['http://apple.com/ns/ical/', 'calendar-color'],
      ['urn:other', 'plain'],
    ]);
  });

  it('decodes predefined entities and character references, and keeps CDATA', () => {
    const root = parse(
      '<d:x xmlns:d="DAV:" a="1 &lt; 2"><d:y>&amp;&#65;&#x42;&quot;</d:y><d:z><![CDATA[<raw>&]]></d:z></d:x>',
    );
    expect(root.attrs.a).toBe('1 < 2');
    expect(childOf(root, 'DAV:', 'y')?.text).toBe('&AB"');
    expect(childOf(root, 'DAV:', 'z')?.text).toBe('<raw>&');
  });

  it('decodes each reference exactly once, so the parser never expands entities of its own', () => {
    const root = parse('<d:x xmlns:d="DAV:" a="&amp;lt;&amp;#65;"><d:y>&amp;lt;&amp;amp;&amp;#x42;</d:y></d:x>');
    expect(root.attrs.a).toBe('&lt;&#65;');
    expect(childOf(root, 'DAV:', 'y')?.text).toBe('&lt;&amp;&#x42;');
  });

  it('takes CDATA literally and ignores processing instructions, quotes and all', () => {
    const root = parse(
      `<?xml version='1.0'?>\n<?note don't?><d:x xmlns:d="DAV:">a<![CDATA[&amp;]]>b<?pi "?>c<!-- ' -->d</d:x>`,
    );
    expect(root.text).toBe('a&amp;bcd');
  });

  it('keeps children in document order', () => {
    const root = parse('<d:x xmlns:d="DAV:"><d:a/><d:b/><d:a/>text</d:x>');
    expect(root.children.map((c) => c.name)).toEqual(['a', 'b', 'a']);
    expect(root.text).toBe('text');
  });

  it.each([
    [
      'an external entity (XXE)',
      '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:">&xxe;</d:propfind>',
    ],
    [
      'billion laughs',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><d:propfind xmlns:d="DAV:">&lol9;</d:propfind>`,
    ],
    ['a bare DOCTYPE', '<!DOCTYPE propfind><d:propfind xmlns:d="DAV:"/>'],
  ])('refuses %s before parsing: no declarations at all', (_name, text) => {
    expect(() => parse(text)).toThrow(/declarations are not accepted/);
  });

  it.each([
    ['an undeclared entity', '<d:propfind xmlns:d="DAV:">&nbsp;</d:propfind>'],
    ['an entity in an attribute', '<d:propfind xmlns:d="DAV:" a="&evil;"/>'],
    ['a NUL character reference', '<d:propfind xmlns:d="DAV:">&#0;</d:propfind>'],
    ['an unknown prefix', '<x:propfind/>'],
    ['mismatched tags', '<d:propfind xmlns:d="DAV:"><d:prop></d:propfind>'],
    ['two roots', '<d:a xmlns:d="DAV:"/><d:b xmlns:d="DAV:"/>'],
    ['no root', '   '],
    ['an unterminated comment', '<d:a xmlns:d="DAV:"><!-- </d:a>'],
    ['only a closing tag', '</d:a>'],
    ['an attribute without a value', '<d:a xmlns:d="DAV:" b=/>'],
  ])('refuses %s', (_name, text) => {
    expect(() => parse(text)).toThrow(/Malformed XML/);
  });

  it('cannot be used to pollute prototypes', () => {
    const root = parse(
      '<d:x xmlns:d="DAV:" __proto__="x" constructor="y" toString="z"><__proto__><polluted/></__proto__><constructor/><hasOwnProperty/></d:x>',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(root.children.map((c) => c.name)).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(Object.entries(root.attrs)).toContainEqual(['toString', 'z']);
  });

  it('refuses nesting deeper than the limit, without recursing into it', () => {
    const depth = 100_000;
    const text = `<d:a xmlns:d="DAV:">${'<d:a>'.repeat(depth)}${'</d:a>'.repeat(depth)}</d:a>`;
    expect(() => parse(text)).toThrow(/nest deeper than 32/);
    const ok = `<d:a xmlns:d="DAV:">${'<d:a>'.repeat(30)}${'</d:a>'.repeat(30)}</d:a>`;
    expect(parse(ok).name).toBe('a');
  });

  it('refuses bodies over the size limit before parsing', () => {
    expect(() => parseXml(Buffer.alloc(3 * 1024 * 1024, 0x20))).toThrow(/limited to/);
  });

  it('escapes output so that stored text survives an XML round trip, CR included', () => {
    const text = 'BEGIN:VCARD\r\nNOTE:a < b & c > d\r\nEND:VCARD\r\n';
    const root = parse(`<d:x xmlns:d="DAV:">${escapeText(text)}</d:x>`);
    expect(root.text).toBe(text);
    expect(escapeText('bell\u0007')).toBe('bell\uFFFD');
    expect(escapeText('\u0000\u000B\u001F\uFFFE\uD800x\uDC00\uD83D\uDE00\t\n')).toBe(
      '\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDx\uFFFD\uD83D\uDE00\t\n',
    );
  });
});

/** The same attacks over HTTP: a 4xx with a DAV error body, and nothing else happens. */
describe.each(engines)('hostile DAV requests on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-xml-${engine}`);
    dav = davClient(server, alice);
  });
  afterAll(async () => server?.close());

  it.each([
    [
      'XXE',
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>',
    ],
    [
      'billion laughs',
      '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d:propfind xmlns:d="DAV:">&b;</d:propfind>',
    ],
    ['deep nesting', `<d:propfind xmlns:d="DAV:">${'<d:prop>'.repeat(5000)}${'</d:prop>'.repeat(5000)}</d:propfind>`],
    ['malformed XML', '<d:propfind xmlns:d="DAV:"><d:prop>'],
    ['the wrong root element', '<d:propertyupdate xmlns:d="DAV:"/>'],
  ])('answers %s with 400 and an XML error', async (_name, body) => {
    const response = await dav('PROPFIND', '/dav/', { depth: '0', body });
    expect(response.statusCode).toBe(400);
    expect(String(response.headers['content-type'])).toContain('application/xml');
    expect(response.body).toContain('<d:error');
    expect(response.body).not.toContain('root:');
  });

  it('answers a huge body with 413', async () => {
    const body = `<d:propfind xmlns:d="DAV:"><d:prop>${'<d:displayname/>'.repeat(200_000)}</d:prop></d:propfind>`;
    const response = await dav('PROPFIND', '/dav/', { depth: '0', body });
    expect(response.statusCode).toBe(413);
    expect(response.body).toContain('<d:error');
  });

  it('answers bad request metadata with 4xx, never 500', async () => {
    expect((await dav('PROPFIND', '/dav/', { depth: '2' as '0' })).statusCode).toBe(400);
    const badEncoding = await dav('PROPFIND', '/dav/%E0%A4%A/', { depth: '0' });
    expect([400, 404]).toContain(badEncoding.statusCode);
    expect(davSegments('/dav/addressbooks/%2E%2E/principals/')).toBeNull();
    expect(davSegments('/dav/addressbooks/a%2Fb/')).toBeNull();
    expect(davSegments('http://host/dav/calendars/u/c/x%40y.ics')).toEqual(['calendars', 'u', 'c', 'x@y.ics']);
    const notUtf8 = await dav('PROPFIND', '/dav/', {
      depth: '0',
      body: Buffer.from([0x3c, 0xff, 0xfe, 0x3e]),
      contentType: 'application/xml',
    });
    expect(notUtf8.statusCode).toBe(400);
  });
});
