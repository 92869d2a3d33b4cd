import { createHash } from 'node:crypto';
import { tinyPng } from './fixtures.js';
import type { TestServer, TestUser } from './harness.js';

/** What a seeded account holds, to check an export against. */
export interface SeededAccount {
  collections: Record<'contacts' | 'calendar' | 'tasks' | 'notes' | 'photos' | 'messages', string>;
  photo: Buffer;
  attachment: Buffer;
  items: Record<string, string>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Contacts with a VTIMEZONE-sharing pair of events, a task, a note, a photo and two messages, over the API. */
export async function seedFullAccount(server: TestServer, user: TestUser): Promise<SeededAccount> {
  const inject = async (method: 'POST' | 'PUT', url: string, payload: unknown) => {
    const response = await server.app.inject({ method, url, headers: user.auth, payload: payload as string });
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.body}`);
    return response.json() as Record<string, unknown>;
  };
  const collections = {} as SeededAccount['collections'];
  for (const type of ['contacts', 'calendar', 'tasks', 'notes', 'photos', 'messages'] as const) {
    collections[type] = (await inject('POST', '/v1/collections', { type, name: `My ${type}` })).id as string;
  }
  const photo = tinyPng(4, 3);
  const attachment = Buffer.from('a voice memo, pretend');
  for (const blob of [photo, attachment]) await inject('PUT', `/v1/blobs/${sha256(blob)}`, blob);
  const zone = [
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Berlin',
    'BEGIN:STANDARD',
    'DTSTART:19701025T030000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'END:STANDARD',
    'END:VTIMEZONE',
  ];
  const event = (uid: string, extra: string[]) =>
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Seed//EN',
      ...zone,
      'BEGIN:VEVENT',
      `UID:${uid}`,
      'DTSTAMP:20240101T000000Z',
      'DTSTART;TZID=Europe/Berlin:20240105T090000',
      ...extra,
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
  const items: Record<string, string> = {
    ada: [
      'BEGIN:VCARD',
      'VERSION:4.0',
      'UID:ada',
      'FN:Ada Lovelace',
      'NICKNAME:Countess',
      'TEL;TYPE=cell:+44 20 7946 0001',
      'TEL;TYPE=work:+44 20 7946 0002',
      'EMAIL:ada@example.com',
      'ADR:;;12 St James Sq;London;;SW1Y 4JH;UK',
      'END:VCARD',
      '',
    ].join('\r\n'),
    noTel: [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Email Only',
      'EMAIL:only@example.com',
      'URL:https://example.com',
      'END:VCARD',
    ].join('\r\n'),
    standup: event('standup', [
      'SUMMARY:Standup',
      'RRULE:FREQ=WEEKLY;COUNT=3',
      'ATTENDEE;CN=Ada:mailto:ada@example.com',
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      'TRIGGER:-PT5M',
      'END:VALARM',
    ]),
    review: event('review', ['SUMMARY:Review']),
    task: [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Seed//EN',
      'BEGIN:VTODO',
      'UID:task',
      'SUMMARY:Taxes',
      'END:VTODO',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  };
  const changes = [
    ['contacts', 'ada', items.ada],
    ['contacts', 'no-tel', items.noTel],
    ['calendar', 'standup', items.standup],
    ['calendar', 'review', items.review],
    ['tasks', 'task', items.task],
    ['notes', 'note-1', { title: 'Shopping / list', body: 'milk\n---\neggs' }],
    ['photos', 'photo-1', { filename: 'beach.png', caption: 'Sunset' }],
    [
      'messages',
      'msg-1',
      {
        thread: 'Mum',
        sender: '+441234',
        recipients: ['me'],
        body: 'Call me <3 & "soon"',
        sentAt: '2024-01-02T10:00:00Z',
        direction: 'incoming',
        attachments: [{ sha256: sha256(attachment), contentType: 'audio/amr' }],
      },
    ],
    [
      'messages',
      'msg-2',
      {
        thread: 'Mum',
        sender: 'me',
        recipients: ['+441234'],
        body: 'OK\nlater',
        sentAt: '2024-01-02T09:00:00Z',
        direction: 'outgoing',
        attachments: [],
      },
    ],
  ] as const;
  const result = await inject('POST', '/v1/push', {
    changes: changes.map(([type, itemId, content], i) => ({
      clientChangeId: `seed-${i}`,
      collectionId: collections[type],
      itemId,
      op: 'put',
      baseRevision: null,
      content,
      ...(type === 'photos' ? { blob: { sha256: sha256(photo), contentType: 'image/png' } } : {}),
    })),
  });
  const statuses = (result.results as { status: string }[]).map((r) => r.status);
  if (statuses.some((s) => s !== 'applied')) throw new Error(JSON.stringify(result));
  return { collections, photo, attachment, items };
}
