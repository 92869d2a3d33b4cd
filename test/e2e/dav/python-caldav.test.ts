import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { api, runProgram } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DavServer, startDavServer } from './dav-server.js';

const script = fileURLToPath(new URL('./caldav_scenario.py', import.meta.url));

/** The first Python that can import caldav (Debian's python3-caldav lives under /usr/bin/python3). */
function pythonWithCaldav(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('No python3 can import caldav: install python3-caldav.');
}

async function runScenario(server: DavServer): Promise<Record<string, unknown>> {
  const run = await runProgram(pythonWithCaldav(), [script, server.url, server.username, server.appPassword]);
  if (run.code !== 0) throw new Error(`caldav scenario exited with ${run.code}:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/** python-caldav (Debian python3-caldav) drives a real `holdfast serve`: calendars, time ranges, sync, tasks. */
describe.each(['sqlite', 'postgres'] as const)('python-caldav against holdfast serve on %s', (engine) => {
  let server: DavServer;
  let observed: Record<string, unknown>;

  beforeAll(async () => {
    server = await startDavServer(engine, `pycaldav-${engine}`);
    observed = await runScenario(server);
  }, 120_000);
  afterAll(async () => server?.stop());

  it('finds the principal and makes a calendar and a task list', () => {
    expect(observed.principal).toBe(`${server.url}/dav/principals/${server.username}/`);
    expect(observed.calendar_url).toBe(`${server.url}/dav/calendars/${server.username}/py-cal/`);
    expect(observed.components).toEqual(['VEVENT', 'VTODO']);
    expect(observed.task_components).toEqual(['VTODO']);
    expect(observed.calendar_names).toEqual(['Python Calendar', 'Python Tasks']);
  });

  it('searches by time range through the recurrence, and by UID', () => {
    expect(observed.all_events).toEqual(['py-single', 'py-weekly']);
    expect(observed.third_week).toEqual(['py-weekly']);
    expect(observed.after_series).toEqual([]);
    expect(observed.expanded_instances).toBe(4);
    expect(observed.server_expanded).toEqual([[true, 4]]);
    expect(observed.by_uid).toBe('Weekly planning');
    expect(observed.pending_todos).toEqual(['py-todo']);
  });

  it('syncs changes and deletions with sync-collection', () => {
    expect(observed.initial_sync).toBe(2);
    expect(observed.sync_updated).toEqual(['py-weekly.ics']);
    expect(observed.sync_deleted).toEqual(['py-single.ics']);
  });

  it('wrote through the revision log, as the app password', async () => {
    const collections = await api(server.url, 'GET', '/v1/collections', { token: server.token });
    const types = Object.fromEntries(
      (collections.body.collections as { id: string; type: string }[]).map((c) => [c.id, c.type]),
    );
    expect(types).toMatchObject({ 'py-cal': 'calendar', 'py-tasks': 'tasks' });
    const history = await api(server.url, 'GET', '/v1/items/py-weekly/revisions', { token: server.token });
    const revisions = history.body.revisions as { deviceId: string; content: string }[];
    expect(revisions).toHaveLength(2);
    expect(revisions.every((r) => r.deviceId === server.appPasswordId)).toBe(true);
    expect(revisions[1]?.content).toContain('Weekly planning (moved)');
    const single = await api(server.url, 'GET', '/v1/items/py-single?includeDeleted=true', { token: server.token });
    expect(single.body.deleted).toBe(true);
  });
});
