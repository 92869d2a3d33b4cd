import { normalizeEmail, normalizeTel } from '@holdfast/protocol';
import { pushTo } from '../bundle/multimap.js';
import { createSlicer } from '../slices.js';
import { allItemsAt, collectionsAt } from '../store/account-snapshot.js';
import { executor, type Queryable } from '../store/queryable.js';
import { readHead } from '../store/revision-log.js';
import { readComponents } from './content-lines.js';
import { semanticProperty } from './semantic.js';

/** What the duplicate finder looks at in a contact. */
export interface ContactSummary {
  itemId: string;
  collectionId: string;
  fn: string;
  nicknames: string[];
  tels: string[];
  emails: string[];
}

/** Contacts that look like one person, and why. Nothing is merged: this is a suggestion. */
export interface DuplicateGroup {
  /** `high` when they share a phone number or email address; `possible` when only names match. */
  confidence: 'high' | 'possible';
  reasons: string[];
  contacts: ContactSummary[];
}

/** Reads the fields the finder uses from a vCard (QUOTED-PRINTABLE and escapes decoded). Exported for the JSON view. */
export function summarizeContact(
  text: string,
): Omit<ContactSummary, 'itemId' | 'collectionId'> & { family: string; given: string } {
  const card = readComponents(text, { bareNames: true })[0];
  const out = {
    fn: '',
    nicknames: [] as string[],
    tels: [] as string[],
    emails: [] as string[],
    family: '',
    given: '',
  };
  for (const line of card?.properties ?? []) {
    const name = line.name.toUpperCase();
    if (!['FN', 'N', 'NICKNAME', 'TEL', 'EMAIL'].includes(name)) continue;
    const value = semanticProperty(line).value;
    if (name === 'FN') out.fn ||= value.join(';').trim();
    else if (name === 'N') [out.family = '', out.given = ''] = value.map((v) => v.trim());
    else if (name === 'NICKNAME')
      out.nicknames.push(
        ...value
          .join(';')
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      );
    else if (name === 'TEL' && value.join(';').trim()) out.tels.push(value.join(';').trim());
    else if (name === 'EMAIL' && value.join(';').trim()) out.emails.push(value.join(';').trim());
  }
  if (!out.fn) out.fn = [out.given, out.family].filter(Boolean).join(' ');
  return out;
}

/** Lower case, accents and punctuation gone, words sorted: "Lovelace, Ada" and "ada lovelace" agree. */
export function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .sort()
    .join(' ');
}

/**
 * Finds contacts (across all of a user's address books) that share a
 * normalised phone number or email address, the same name, a nickname plus
 * family name that is another's name, or a given name one letter apart with
 * the same family name. Returns the groups, largest first; changes nothing.
 */
export async function findDuplicates(on: Queryable, userId: string): Promise<DuplicateGroup[]> {
  const db = executor(on);
  const seq = await readHead(db);
  // A large address book takes a while to read and compare; the scan gives other requests turns as it goes.
  const pause = createSlicer();
  const contacts: (ContactSummary & { family: string; given: string })[] = [];
  for (const collection of await collectionsAt(db, userId, seq)) {
    if (collection.type !== 'contacts') continue;
    for await (const item of allItemsAt(db, userId, collection.id, seq)) {
      await pause();
      try {
        contacts.push({
          itemId: item.id,
          collectionId: collection.id,
          ...summarizeContact(item.revision.content ?? ''),
        });
      } catch {
        // A card the tolerant reader cannot read has no fields to compare; it is not anyone's duplicate.
      }
    }
  }
  const parent = contacts.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const reasons = new Map<string, { text: string; strong: boolean }[]>();
  const link = (a: number, b: number, text: string, strong: boolean) => {
    const [ra, rb] = [root(a), root(b)];
    if (ra !== rb) parent[rb] = ra;
    const list = reasons.get(`${a}`) ?? [];
    list.push({ text, strong });
    reasons.set(`${a}`, list);
  };
  const byKey = new Map<string, number>();
  const claim = (key: string, index: number, text: string, strong: boolean) => {
    const first = byKey.get(key);
    if (first === undefined) byKey.set(key, index);
    else link(first, index, text, strong);
  };
  for (const [i, c] of contacts.entries()) {
    await pause();
    for (const tel of new Set(c.tels.map(normalizeTel)))
      if (tel.replace(/\D/g, '').length >= 5) claim(`tel:${tel}`, i, `same phone ${tel}`, true);
    for (const email of new Set(c.emails.map(normalizeEmail)))
      if (email.includes('@')) claim(`email:${email}`, i, `same email ${email}`, true);
    const key = nameKey(c.fn);
    if (key) claim(`name:${key}`, i, `same name "${key}"`, false);
  }
  contacts.forEach((c, i) => {
    for (const nick of c.nicknames) {
      const other = byKey.get(`name:${nameKey(`${nick} ${c.family}`)}`);
      if (other !== undefined && other !== i) link(other, i, `nickname "${nick}" of ${c.fn}`, false);
    }
  });
  await similarGivenNames(contacts, link, pause);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < contacts.length; i++) {
    const members = groups.get(root(i)) ?? [];
    members.push(i);
    groups.set(root(i), members);
  }
  const out: DuplicateGroup[] = [];
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    await pause();
    out.push(describeGroup(members));
  }
  return out.sort((a, b) => b.contacts.length - a.contacts.length || (a.confidence === 'high' ? -1 : 1));

  function describeGroup(members: number[]): DuplicateGroup {
    const found = members.flatMap((m) => reasons.get(`${m}`) ?? []);
    return {
      confidence: found.some((r) => r.strong) ? ('high' as const) : ('possible' as const),
      reasons: [
        ...new Set(
          found.sort((a, b) => Number(b.strong) - Number(a.strong) || a.text.localeCompare(b.text)).map((r) => r.text),
        ),
      ],
      contacts: members
        .map((m) => {
          const {
            family: _f,
            given: _g,
            ...summary
          } = contacts[m] as ContactSummary & { family: string; given: string };
          return summary;
        })
        .sort((a, b) => a.fn.localeCompare(b.fn) || (a.itemId < b.itemId ? -1 : 1)),
    };
  }
}

/** Same family name, given names one edit apart ("Jon"/"John"); compared within a family name only. */
async function similarGivenNames(
  contacts: { family: string; given: string; fn: string }[],
  link: (a: number, b: number, text: string, strong: boolean) => void,
  pause: () => Promise<void>,
): Promise<void> {
  const byFamily = new Map<string, number[]>();
  // Normalised once per contact, not once per pair.
  const givenKeys: string[] = [];
  for (const [i, c] of contacts.entries()) {
    await pause();
    givenKeys.push(nameKey(c.given));
    const family = nameKey(c.family);
    if (family && c.given) pushTo(byFamily, family, i);
  }
  for (const members of byFamily.values()) {
    if (members.length > 200) continue; // a very common family name: name-only hints would be noise
    for (let x = 0; x < members.length; x++) {
      await pause();
      for (let y = x + 1; y < members.length; y++) {
        const a = contacts[members[x] as number] as { given: string; fn: string };
        const b = contacts[members[y] as number] as { given: string; fn: string };
        const [ga, gb] = [givenKeys[members[x] as number] ?? '', givenKeys[members[y] as number] ?? ''];
        if (ga !== gb && ga.length >= 3 && gb.length >= 3 && oneEditApart(ga, gb)) {
          const [first, second] = [a.fn, b.fn].sort();
          link(members[x] as number, members[y] as number, `similar names "${first}" and "${second}"`, false);
        }
      }
    }
  }
}

/**
 * Whether two different strings are one insertion, deletion or substitution
 * apart. Only that question is asked, so one linear pass answers it: a full
 * edit distance is quadratic in the names' lengths, and a client chooses the
 * lengths (two contacts with names of 16,000 letters held the server for
 * seconds).
 */
export function oneEditApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1 || a === b) return false;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  let i = 0;
  while (i < short.length && short[i] === long[i]) i++;
  // Past the first difference the rest must match: shifted by one (insertion) or aligned (substitution).
  return short.length === long.length ? short.slice(i + 1) === long.slice(i + 1) : short.slice(i) === long.slice(i + 1);
}
