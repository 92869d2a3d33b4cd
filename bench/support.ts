/**
 * What the bench scripts share: realistic test data, the same in every
 * script, so figures from different benches describe the same contacts.
 */

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Radia', 'Donald'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Perlman', 'Knuth'];

/**
 * Contact number `i` as a vCard 3.0 with CRLF line ends: name, organisation,
 * two phones, an e-mail, an address and a note, then `extra` lines (e.g.
 * `TITLE:Engineer`) before the note. The UID is `bench-<i, 7 digits>`.
 */
export function contactCard(i: number, extra: string[] = []): string {
  const first = FIRST[i % 8] as string;
  const last = LAST[(i >> 3) % 8] as string;
  const n = String(i).padStart(7, '0');
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:bench-${n}`,
    `FN:${first} ${last} ${n}`,
    `N:${last};${first};;;`,
    'ORG:Example Corp;Research',
    `TEL;TYPE=CELL:+1 555 ${n.slice(0, 3)} ${n.slice(3)}`,
    `TEL;TYPE=WORK:+44 20 7946 ${n.slice(3)}`,
    `EMAIL;TYPE=INTERNET:${first.toLowerCase()}.${n}@example.com`,
    `ADR;TYPE=HOME:;;${i} Main Street;Springfield;IL;62701;USA`,
    ...extra,
    `NOTE:Met at conference ${i % 50}\\, follow up about the project.`,
    'END:VCARD',
    '',
  ].join('\r\n');
}
