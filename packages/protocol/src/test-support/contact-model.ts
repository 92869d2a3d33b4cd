import fc from 'fast-check';

/**
 * A contact as the property tests generate and edit it, rendered to vCard 3.0
 * the way Apple and Android write it: labelled numbers as `itemN.TEL` +
 * `itemN.X-ABLabel`, vendor X- properties, comma-listed CATEGORIES.
 */
export interface ContactModel {
  fn: string;
  family: string;
  given: string;
  note: string | null;
  tels: Tel[];
  emails: Email[];
  adrs: Adr[];
  xprops: XProp[];
  categories: string[];
  /** Rendering details a client may change without changing data. */
  layout: { order: number; firstGroup: number };
}

export interface Tel {
  plus: boolean;
  digits: string;
  style: number;
  type: string | null;
  label: string | null;
}

export interface Email {
  address: string;
  type: string;
}

export interface Adr {
  street: string;
  city: string;
  country: string;
  type: string;
}

export interface XProp {
  name: string;
  value: string;
}

const word = fc.stringMatching(/^[A-Z][a-z]{1,8}$/);
// Text with the characters that need escaping, and some that need folding care.
const text = fc.string({
  unit: fc.constantFrom('a', 'b', 'Z', ' ', ',', ';', '\\', ':', 'é', '漢', '😀', '-'),
  maxLength: 30,
});
// A small pool makes the same number turn up twice, on one side or on both.
const digits = fc.oneof(fc.constantFrom('5550100', '5550199', '0301234567'), fc.stringMatching(/^[0-9]{6,11}$/));
const telType = fc.constantFrom(null, 'CELL', 'HOME', 'WORK', 'FAX', 'pref', 'CELL,VOICE');
const label = fc.constantFrom(null, null, '_$!<Mobile>!$_', '_$!<HomeFAX>!$_', 'Office', 'Grand Central');

/** A phone number; `style` only changes separators, never the digits. */
export const telArb: fc.Arbitrary<Tel> = fc.record({
  plus: fc.boolean(),
  digits,
  style: fc.nat(4),
  type: telType,
  label,
});

/** An email address; case varies between replicas in the edits. */
export const emailArb: fc.Arbitrary<Email> = fc.record({
  address: fc
    .tuple(
      fc.stringMatching(/^[a-z0-9][a-z0-9._]{0,8}$/),
      fc.constantFrom('example.com', 'ibm.com', 'mail.example.org'),
    )
    .map(([user, domain]) => `${user}@${domain}`),
  type: fc.constantFrom('INTERNET', 'INTERNET,HOME', 'INTERNET,WORK'),
});

/** A postal address with components that need escaping. */
export const adrArb: fc.Arbitrary<Adr> = fc.record({
  street: fc.oneof(
    text,
    word.map((w) => `${w} Street 5, Floor 2`),
  ),
  city: word,
  country: fc.constantFrom('USA', 'Deutschland', 'United States of America', ''),
  type: fc.constantFrom('HOME', 'WORK', 'HOME,pref'),
});

/** A vendor property as Android, Evolution, Apple and Thunderbird write them. */
export const xpropArb: fc.Arbitrary<XProp> = fc.record({
  name: fc.oneof(
    fc.constantFrom('X-ANDROID-CUSTOM', 'X-EVOLUTION-FILE-AS', 'X-PHONETIC-FIRST-NAME', 'X-ABUID', 'X-SKYPE', 'X-AIM'),
    fc.stringMatching(/^X-[A-Z]{1,6}(-[A-Z0-9]{1,4})?$/),
  ),
  value: text,
});

/** A whole contact. */
export const contactArb: fc.Arbitrary<ContactModel> = fc.record({
  fn: text,
  family: word,
  given: word,
  note: fc.option(text),
  tels: fc.array(telArb, { maxLength: 5 }),
  emails: fc.array(emailArb, { maxLength: 3 }),
  adrs: fc.array(adrArb, { maxLength: 2 }),
  xprops: fc.array(xpropArb, { maxLength: 4 }),
  categories: fc.array(word, { maxLength: 3 }),
  layout: fc.record({ order: fc.nat(), firstGroup: fc.integer({ min: 1, max: 3 }) }),
});

/** One change a replica makes. `at` picks an element modulo the list length. */
export type Edit =
  | { op: 'addTel'; tel: Tel }
  | { op: 'removeTel' | 'removeEmail' | 'removeAdr' | 'removeX' | 'removeCategory'; at: number }
  | { op: 'retypeTel'; at: number; type: string | null }
  | { op: 'relabelTel'; at: number; label: string | null }
  | { op: 'reformatTel'; at: number; style: number }
  | { op: 'renumberTel'; at: number; digits: string }
  | { op: 'addEmail'; email: Email }
  | { op: 'recaseEmail'; at: number }
  | { op: 'addAdr'; adr: Adr }
  | { op: 'editAdr'; at: number; street: string }
  | { op: 'addX'; xprop: XProp }
  | { op: 'editX'; at: number; value: string }
  | { op: 'addCategory'; name: string }
  | { op: 'setFn'; fn: string }
  | { op: 'setNote'; note: string | null }
  | { op: 'relayout'; order: number; firstGroup: number };

const at = fc.nat(20);

/** Random edits, weighted towards the multi-valued fields under test. */
export const editsArb: fc.Arbitrary<Edit[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('addTel' as const), tel: telArb }),
    fc.record({ op: fc.constantFrom('removeTel', 'removeEmail', 'removeAdr', 'removeX', 'removeCategory'), at }),
    fc.record({ op: fc.constant('retypeTel' as const), at, type: telType }),
    fc.record({ op: fc.constant('relabelTel' as const), at, label }),
    fc.record({ op: fc.constant('reformatTel' as const), at, style: fc.nat(4) }),
    fc.record({ op: fc.constant('renumberTel' as const), at, digits }),
    fc.record({ op: fc.constant('addEmail' as const), email: emailArb }),
    fc.record({ op: fc.constant('recaseEmail' as const), at }),
    fc.record({ op: fc.constant('addAdr' as const), adr: adrArb }),
    fc.record({ op: fc.constant('editAdr' as const), at, street: text }),
    fc.record({ op: fc.constant('addX' as const), xprop: xpropArb }),
    fc.record({ op: fc.constant('editX' as const), at, value: text }),
    fc.record({ op: fc.constant('addCategory' as const), name: word }),
    fc.record({ op: fc.constant('setFn' as const), fn: text }),
    fc.record({ op: fc.constant('setNote' as const), note: fc.option(text) }),
    fc.record({ op: fc.constant('relayout' as const), order: fc.nat(), firstGroup: fc.integer({ min: 1, max: 4 }) }),
  ),
  { maxLength: 6 },
);

function without<T>(list: T[], index: number): T[] {
  return list.filter((_item, i) => i !== index % list.length);
}

function replace<T>(list: T[], index: number, change: (item: T) => T): T[] {
  return list.map((item, i) => (i === index % list.length ? change(item) : item));
}

/** Applies edits to a copy of the contact. */
export function applyEdits(contact: ContactModel, edits: readonly Edit[]): ContactModel {
  let c: ContactModel = structuredClone(contact);
  for (const edit of edits) {
    switch (edit.op) {
      case 'addTel':
        c = { ...c, tels: [...c.tels, edit.tel] };
        break;
      case 'removeTel':
        c = { ...c, tels: without(c.tels, edit.at) };
        break;
      case 'removeEmail':
        c = { ...c, emails: without(c.emails, edit.at) };
        break;
      case 'removeAdr':
        c = { ...c, adrs: without(c.adrs, edit.at) };
        break;
      case 'removeX':
        c = { ...c, xprops: without(c.xprops, edit.at) };
        break;
      case 'removeCategory':
        c = { ...c, categories: without(c.categories, edit.at) };
        break;
      case 'retypeTel':
        c = { ...c, tels: replace(c.tels, edit.at, (t) => ({ ...t, type: edit.type })) };
        break;
      case 'relabelTel':
        c = { ...c, tels: replace(c.tels, edit.at, (t) => ({ ...t, label: edit.label })) };
        break;
      case 'reformatTel':
        c = { ...c, tels: replace(c.tels, edit.at, (t) => ({ ...t, style: edit.style })) };
        break;
      case 'renumberTel':
        c = { ...c, tels: replace(c.tels, edit.at, (t) => ({ ...t, digits: edit.digits })) };
        break;
      case 'addEmail':
        c = { ...c, emails: [...c.emails, edit.email] };
        break;
      case 'recaseEmail':
        c = { ...c, emails: replace(c.emails, edit.at, (e) => ({ ...e, address: flipCase(e.address) })) };
        break;
      case 'addAdr':
        c = { ...c, adrs: [...c.adrs, edit.adr] };
        break;
      case 'editAdr':
        c = { ...c, adrs: replace(c.adrs, edit.at, (a) => ({ ...a, street: edit.street })) };
        break;
      case 'addX':
        c = { ...c, xprops: [...c.xprops, edit.xprop] };
        break;
      case 'editX':
        c = { ...c, xprops: replace(c.xprops, edit.at, (x) => ({ ...x, value: edit.value })) };
        break;
      case 'addCategory':
        c = { ...c, categories: [...c.categories, edit.name] };
        break;
      case 'setFn':
        c = { ...c, fn: edit.fn };
        break;
      case 'setNote':
        c = { ...c, note: edit.note };
        break;
      case 'relayout':
        c = { ...c, layout: { order: edit.order, firstGroup: edit.firstGroup } };
        break;
    }
  }
  return c;
}

function flipCase(address: string): string {
  return address === address.toLowerCase() ? address.toUpperCase() : address.toLowerCase();
}

/** The phone number as written: same digits, different separators per style. */
export function formatTel(tel: Tel): string {
  const d = tel.digits;
  const plus = tel.plus ? '+' : '';
  switch (tel.style) {
    case 1:
      return `${plus}${d.slice(0, 3)} ${d.slice(3)}`;
    case 2:
      return `${plus}${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`;
    case 3:
      return `${plus}(${d.slice(0, 3)}) ${d.slice(3)}`;
    case 4:
      return `${plus}${d.slice(0, 2)}.${d.slice(2)}`;
    default:
      return `${plus}${d}`;
  }
}

/** Escapes TEXT for a vCard 3.0 value. */
export function escapeText(value: string): string {
  return value.replace(/[\\,;]/g, (char) => `\\${char}`).replace(/\n/g, '\\n');
}

/** Renders the contact as vCard 3.0 text with CRLF line ends. */
export function renderContact(c: ContactModel): string {
  let group = c.layout.firstGroup;
  const lines: string[][] = [];
  lines.push([`FN:${escapeText(c.fn)}`], [`N:${escapeText(c.family)};${escapeText(c.given)};;;`]);
  for (const tel of c.tels) {
    const type = tel.type === null ? '' : `;TYPE=${tel.type}`;
    if (tel.label === null) lines.push([`TEL${type}:${formatTel(tel)}`]);
    else {
      const name = `item${group++}`;
      lines.push([`${name}.TEL${type}:${formatTel(tel)}`, `${name}.X-ABLabel:${tel.label}`]);
    }
  }
  for (const email of c.emails) lines.push([`EMAIL;TYPE=${email.type}:${email.address}`]);
  for (const adr of c.adrs) {
    const value = `;;${escapeText(adr.street)};${escapeText(adr.city)};;;${escapeText(adr.country)}`;
    lines.push([`ADR;TYPE=${adr.type}:${value}`]);
  }
  for (const x of c.xprops) lines.push([`${x.name}:${x.value}`]);
  if (c.categories.length > 0) lines.push([`CATEGORIES:${c.categories.map(escapeText).join(',')}`]);
  if (c.note !== null) lines.push([`NOTE:${escapeText(c.note)}`]);
  const rotated = rotate(lines, c.layout.order);
  return ['BEGIN:VCARD', 'VERSION:3.0', ...rotated.flat(), 'END:VCARD', ''].join('\r\n');
}

// A client may write properties in another order; groups stay together.
function rotate<T>(list: T[], by: number): T[] {
  if (list.length === 0) return list;
  const k = by % list.length;
  const out = [...list.slice(k), ...list.slice(0, k)];
  return by % 2 === 0 ? out : out.reverse();
}
