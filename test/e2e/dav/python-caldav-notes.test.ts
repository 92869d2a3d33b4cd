import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledCorpusDir } from '@holdfast/test-support/corpus';
import { api, runProgram } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DavServer, startDavServer } from './dav-server.js';

const script = fileURLToPath(new URL('./caldav_journal_scenario.py', import.meta.url));
/** A jtx Board note: Markdown DESCRIPTION, an inline PNG and a linked PDF. */
const journalFile = join(bundledCorpusDir, 'ical/jtx-board-note-attach.ics');
const journal = readFileSync(journalFile, 'utf8');

function pythonWithCaldav(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('No python3 can import caldav: install python3-caldav.');
}

/** The text with folding undone and line ends made LF (python-caldav may write either). */
const unfolded = (text: string) => text.replace(/\r\n?/g, '\n').replace(/\n[ \t]/g, '');

interface Note {
  id: string;
  revision: number;
  content: { title: string; body: string; ical?: string };
}

/** python-caldav's journal support (Debian python3-caldav) against a real `holdfast serve`: notes both ways. */
describe.each(['sqlite', 'postgres'] as const)('python-caldav journals against holdfast serve on %s', (engine) => {
  let server: DavServer;
  let observed: Record<string, unknown>;
  const notesOf = async (collection: string) =>
    (await api(server.url, 'GET', `/v1/collections/${collection}/items`, { token: server.token })).body.items as Note[];

  beforeAll(async () => {
    server = await startDavServer(engine, `pynotes-${engine}`);
    const made = await api(server.url, 'POST', '/v1/collections', {
      token: server.token,
      body: { id: 'app-notes', type: 'notes', name: 'App Notes' },
    });
    expect(made.status).toBe(201);
    const pushed = await api(server.url, 'POST', '/v1/push', {
      token: server.token,
      body: {
        changes: [
          {
            clientChangeId: 'n1',
            collectionId: 'app-notes',
            itemId: 'from-app',
            op: 'put',
            baseRevision: null,
            content: { title: 'From the app', body: '## Plan\n\n1. *call* the plumber, 9:00' },
          },
        ],
      },
    });
    expect(pushed.body.results[0].status).toBe('applied');
    const run = await runProgram(pythonWithCaldav(), [
      script,
      server.url,
      server.username,
      server.appPassword,
      'app-notes',
      journalFile,
    ]);
    if (run.code !== 0) throw new Error(`caldav journal scenario exited with ${run.code}:\n${run.stderr}`);
    observed = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  }, 120_000);
  afterAll(async () => server?.stop());

  it('sees a note made through the API as a journal entry, Markdown text and all', () => {
    expect(observed.app_components).toEqual(['VJOURNAL']);
    expect(observed.app_summaries).toEqual(['From the app']);
    expect(observed.app_descriptions).toEqual(['## Plan\n\n1. *call* the plumber, 9:00']);
  });

  it('makes a notes collection with MKCALENDAR, and a journal entry it saves becomes a note kept whole', async () => {
    expect(observed.made_components).toEqual(['VJOURNAL']);
    expect(observed.made_summaries).toEqual(['Shed plans']);
    const collections = await api(server.url, 'GET', '/v1/collections', { token: server.token });
    const types = Object.fromEntries(
      (collections.body.collections as { id: string; type: string }[]).map((c) => [c.id, c.type]),
    );
    expect(types).toMatchObject({ 'py-notes': 'notes', 'app-notes': 'notes' });
    const [note] = await notesOf('py-notes');
    expect(note?.content.title).toBe('Shed plans');
    expect(note?.content.body).toContain('- **treated** timber only');
    // Attachments (an inline PNG, a linked PDF) are in the note's own calendar object, as sent.
    // python-caldav writes the object out again in its own property and parameter order: the same names and values.
    const lines = (text: string) =>
      unfolded(text)
        .split('\n')
        .filter(Boolean)
        .map((line) => line.replace(/^([A-Z-]+);[^:]*:/, '$1:'))
        .sort();
    expect(lines(note?.content.ical ?? '')).toEqual(lines(journal));
    const raw = await fetch(String(observed.saved_url), {
      headers: { authorization: `Basic ${Buffer.from(`${server.username}:${server.appPassword}`).toString('base64')}` },
    });
    expect(unfolded(await raw.text())).toContain(
      'ATTACH;FMTTYPE=application/pdf:https://files.example.org/shed-quote.pdf',
    );
  });

  it('an edit made over CalDAV becomes the new title of the note, written as the app password', async () => {
    const [note] = await notesOf('app-notes');
    expect(note?.content.title).toBe('Renamed over CalDAV');
    expect(note?.content.body).toBe('## Plan\n\n1. *call* the plumber, 9:00');
    const history = await api(server.url, 'GET', '/v1/items/from-app/revisions', { token: server.token });
    const revisions = history.body.revisions as { deviceId: string }[];
    expect(revisions.at(-1)?.deviceId).toBe(server.appPasswordId);
  });
});
