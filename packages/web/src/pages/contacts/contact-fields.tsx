import type { JCardProperty } from './contacts-api';

const LABELS: Record<string, string> = {
  fn: 'Name',
  n: 'Name parts',
  nickname: 'Nicknames',
  tel: 'Phone',
  email: 'E-mail',
  adr: 'Address',
  org: 'Organization',
  title: 'Job title',
  role: 'Role',
  bday: 'Birthday',
  anniversary: 'Anniversary',
  note: 'Note',
  url: 'Web site',
  impp: 'Messaging',
  photo: 'Photo',
  categories: 'Groups',
  gender: 'Gender',
  lang: 'Language',
  tz: 'Time zone',
  geo: 'Location',
  related: 'Related',
  kind: 'Kind',
  member: 'Member',
  'x-socialprofile': 'Social profile',
};

/** Lines that describe the card, not the person. */
const HIDDEN = new Set(['version', 'prodid', 'uid', 'rev']);

function valueText(name: string, values: unknown[]): string {
  const flat = (value: unknown): string =>
    Array.isArray(value)
      ? value
          .map(flat)
          .filter(Boolean)
          .join(name === 'n' ? ' ' : ', ')
      : String(value ?? '');
  if (name === 'photo') return 'A photo';
  return values.map(flat).filter(Boolean).join(', ');
}

function typeText(params: Record<string, string | string[]>): string {
  const type = params.type;
  if (!type) return '';
  return ` (${(Array.isArray(type) ? type : [type]).join(', ').toLowerCase()})`;
}

function label(name: string): string {
  if (LABELS[name]) return LABELS[name];
  const bare = name.replace(/^x-/, '').replace(/-/g, ' ');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}

/** Every field of the card, in the card's order, labelled in words; nothing the card holds is left out. */
export function ContactFieldList({ properties }: { properties: JCardProperty[] }) {
  const shown = properties.filter(([name]) => !HIDDEN.has(name));
  return (
    <dl className="fields">
      {shown.map(([name, params, , ...values], index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a card may repeat a field; its position is its identity here.
        <div key={`${name}-${index}`} className="field">
          <dt>
            {label(name)}
            {typeText(params)}
          </dt>
          <dd>{valueText(name, values)}</dd>
        </div>
      ))}
    </dl>
  );
}
