import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Hostile clients against a real `holdfast serve` process. Each attack runs
 * while `/healthz` is probed on fresh connections from another loopback
 * address (127.0.0.2, so the per-address connection cap the attacks run into
 * does not apply to it) and the server's resident memory is sampled.
 */

const HEALTHZ_MEDIAN_MS = 100;
/** Growth of the server's RSS, from the start of an attack to its peak, that any attack may cause. */
const RSS_GROWTH_MB = 150;
const PER_ADDRESS = 80;

const LIMITS: Record<string, string> = {
  HOLDFAST_IDLE_TIMEOUT_MS: '2000',
  HOLDFAST_HEADERS_TIMEOUT_MS: '2000',
  HOLDFAST_REQUEST_TIMEOUT_MS: '5000',
  HOLDFAST_KEEP_ALIVE_TIMEOUT_MS: '1000',
  HOLDFAST_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
  HOLDFAST_MAX_EVENT_STREAMS_PER_DEVICE: '4',
  HOLDFAST_MAX_EVENT_STREAMS_PER_USER: '6',
  HOLDFAST_EVENT_STREAM_CHECK_MS: '300',
  HOLDFAST_DAV_MAX_MULTIGET_HREFS: '2000',
  HOLDFAST_DAV_MAX_RECURRENCE_STEPS: '10000',
};

const USER = 'mallory';
const PASSWORD = 'mallory-password';

let dir: string;
let data: string;
let server: ServerProcess;
let url: URL;
let baselineRssMb: number;
let appPassword: string;
let basic: string;
let token: string;

function rssMb(): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Bytes the server process has read through system calls (sockets and files), from /proc. */
function bytesRead(): number {
  const io = readFileSync(`/proc/${server.child.pid}/io`, 'utf8');
  return Number(/rchar:\s+(\d+)/.exec(io)?.[1] ?? Number.NaN);
}

function openFds(): number {
  return readdirSync(`/proc/${server.child.pid}/fd`).length;
}

/** One GET /healthz on a new connection from `localAddress` (127.0.0.2 unless told); its time in ms (Infinity if it failed or took > 2 s). */
function probeHealth(localAddress = '127.0.0.2'): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: '/healthz', localAddress, agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Number.POSITIVE_INFINITY));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(Number.POSITIVE_INFINITY));
    req.end();
  });
}

/** Probes /healthz from `localAddress` until one answers, so a test can connect from an address that was at its cap. */
async function untilAcceptedFrom(localAddress: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (Number.isFinite(await probeHealth(localAddress))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server still refuses connections from ${localAddress}`);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY;
};

/**
 * Runs an attack while probing health and sampling RSS; asserts both, then
 * returns the attack's result. At least a few probes run even for a short attack.
 */
async function underAttack<T>(attack: () => Promise<T>): Promise<T> {
  let done = false;
  const probes: number[] = [];
  // Per attack, so each test stands on its own; the idle baseline is in the message for comparison.
  const startRss = rssMb();
  let peakRss = startRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb());
  }, 50);
  const prober = (async () => {
    while (!done || probes.length < 5) {
      probes.push(await probeHealth());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return await attack();
  } finally {
    done = true;
    await prober;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssMb());
    expect(median(probes), `healthz probes: ${probes.map((p) => p.toFixed(0)).join(' ')}`).toBeLessThan(
      HEALTHZ_MEDIAN_MS,
    );
    expect(
      peakRss,
      `RSS peaked at ${peakRss.toFixed(0)} MB from ${startRss.toFixed(0)} MB (idle: ${baselineRssMb.toFixed(0)} MB)`,
    ).toBeLessThan(startRss + RSS_GROWTH_MB);
  }
}

interface RawOutcome {
  /** What the server sent back (headers and body). */
  response: string;
  /** Body bytes the client managed to send. */
  sent: number;
  /** Whether the server closed the connection before `giveUpMs`. */
  closed: boolean;
  ms: number;
}

/**
 * A request written on a raw socket: the head, then up to `bodyBytes` of
 * body (stopping early when the server closes), then nothing: a stalled
 * client. Resolves when the server closes the connection or after `giveUpMs`.
 */
function rawRequest(head: string, bodyBytes: number, giveUpMs: number): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: url.hostname, port: Number(url.port) });
    let response = '';
    let sent = 0;
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      resolve({ response, sent, closed, ms: performance.now() - started });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, giveUpMs);
    socket.on('data', (chunk) => {
      response += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('connect', async () => {
      socket.write(head);
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      while (sent < bodyBytes && !closed && !socket.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent));
        sent += piece.length;
        if (!socket.write(piece)) {
          await new Promise((next) => {
            socket.once('drain', next);
            socket.once('close', next);
          });
        }
      }
    });
  });
}

const status = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

async function dav(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, url), {
    method,
    headers: { authorization: basic, 'content-type': 'application/xml; charset=utf-8', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'holdfast-hostile-'));
  data = join(dir, 'server');
  expect((await runCli(['user', 'add', USER, '--data', data], { stdin: `${PASSWORD}\n` })).code).toBe(0);
  const app = await runCli(['app-password', 'add', USER, '--label', 'dav', '--data', data]);
  appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1] ?? '';
  basic = `Basic ${Buffer.from(`${USER}:${appPassword}`).toString('base64')}`;
  server = await startServerProcess(['--data', data], LIMITS);
  url = new URL(server.url);
  token = (await login('attacker')).token;
  for (let i = 0; i < 5; i++) await probeHealth();
  baselineRssMb = rssMb();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function login(deviceName: string): Promise<{ token: string; deviceId: string }> {
  const response = await api(server.url, 'POST', '/v1/auth/login', {
    body: { username: USER, password: PASSWORD, deviceName },
  });
  expect(response.status).toBe(200);
  return response.body;
}

describe('hostile clients cannot exhaust or freeze the server', () => {
  it('refuses huge unauthenticated bodies before reading them, and closes the connection', async () => {
    const readBefore = bytesRead();
    const outcomes = await underAttack(() =>
      Promise.all([
        ...Array.from({ length: 20 }, () =>
          rawRequest(
            `POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${32 * 1024 * 1024}\r\n\r\n`,
            31 * 1024 * 1024,
            8000,
          ),
        ),
        ...Array.from({ length: 40 }, (_, i) =>
          rawRequest(
            `PUT /dav/calendars/${USER}/cal/${i}.ics HTTP/1.1\r\nhost: x\r\ncontent-type: text/calendar\r\ncontent-length: ${15 * 1024 * 1024}\r\n\r\n`,
            15 * 1024 * 1024 - 1024,
            8000,
          ),
        ),
      ]),
    );
    const logins = outcomes.slice(0, 20);
    const puts = outcomes.slice(20);
    expect(logins.map((o) => status(o.response))).toEqual(logins.map(() => 413));
    expect(puts.map((o) => status(o.response))).toEqual(puts.map(() => 401));
    for (const outcome of outcomes) expect(outcome.closed).toBe(true);
    // What the server read of the 1.2 GB offered: each refused body is discarded for a moment so its client can read
    // the answer, but no more than `lingerMaxBytes` (1 MiB by default) of it, so a client that keeps sending cannot
    // make the server read, and hold in garbage, hundreds of megabytes.
    const readMb = (bytesRead() - readBefore) / 1024 / 1024;
    expect(readMb, `the server read ${readMb.toFixed(0)} MB`).toBeLessThan(outcomes.length * 1.5);
  }, 30_000);

  it('stops reading a refused body it will not use, yet leaves a client that reads late its answer', async () => {
    const readBefore = bytesRead();
    // A client that sends its body before it reads anything, as many HTTP libraries do: its sends stall once the
    // server stops reading, and only then does it look for the answer.
    const outcome = await new Promise<{ response: string; sent: number }>((resolve) => {
      const socket: Socket = connect({ host: url.hostname, port: Number(url.port) });
      let response = '';
      let sent = 0;
      let closed = false;
      let reading = false;
      const done = () => {
        if (closed && reading) resolve({ response, sent });
      };
      socket.on('error', () => {});
      socket.on('close', () => {
        closed = true;
        done();
      });
      socket.on('connect', async () => {
        socket.write(
          `POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${1024 * 1024 * 1024}\r\n\r\n`,
        );
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        const stopAt = performance.now() + 600;
        while (performance.now() < stopAt && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) {
            await new Promise((next) => {
              socket.once('drain', next);
              setTimeout(next, 100);
            });
          }
        }
        socket.on('data', (data: Buffer) => {
          response += data.toString('latin1');
        });
        reading = true;
        done();
      });
    });
    // A reset instead of the stop would have reached the client first and taken the unread answer with it.
    expect(status(outcome.response)).toBe(413);
    // What it managed to send is what the kernel's buffers held besides what the server read: the server read
    // about `lingerMaxBytes` (1 MiB) of it, not everything the client could push in 600 ms.
    const readMb = (bytesRead() - readBefore) / 1024 / 1024;
    expect(
      readMb,
      `the server read ${readMb.toFixed(1)} MB of ${(outcome.sent / 1024 / 1024).toFixed(0)} MB sent`,
    ).toBeLessThan(2);
  }, 15_000);

  it('closes stalled bodies, slow headers and idle connections', async () => {
    const outcomes = await underAttack(() =>
      Promise.all([
        // An authenticated body that stops arriving.
        rawRequest(
          `POST /v1/collections HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`,
          10,
          9000,
        ),
        // Headers that never end.
        rawRequest('GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: 1\r\n', 0, 9000),
        // A connection that never says anything.
        rawRequest('', 0, 9000),
      ]),
    );
    for (const outcome of outcomes) {
      expect(outcome.closed).toBe(true);
      expect(outcome.ms).toBeLessThan(8000);
    }
  }, 30_000);

  it('caps connections per client address', async () => {
    const sockets: Socket[] = [];
    try {
      const closedEarly = await underAttack(async () => {
        const opened = await Promise.all(
          Array.from(
            { length: PER_ADDRESS + 20 },
            () =>
              new Promise<{ socket: Socket; closed: () => boolean }>((resolve) => {
                let closed = false;
                const socket = connect({ host: url.hostname, port: Number(url.port) }, () =>
                  resolve({ socket, closed: () => closed }),
                );
                socket.on('error', () => {});
                socket.on('close', () => {
                  closed = true;
                  resolve({ socket, closed: () => closed });
                });
                sockets.push(socket);
              }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        return opened.filter((o) => o.closed()).length;
      });
      expect(closedEarly).toBeGreaterThanOrEqual(20);
    } finally {
      for (const socket of sockets) socket.destroy();
      // The server counts a socket as gone only once it sees the close; on a busy machine that lags, and a test
      // that connects from this address straight away would be refused. Wait until it is let in again.
      await untilAcceptedFrom(url.hostname);
    }
  }, 30_000);

  it('answers a dense recurrence quickly, and a REPORT beyond the work budget with a DAV error', async () => {
    const created = await api(server.url, 'POST', '/v1/collections', {
      token,
      body: { id: 'cal', type: 'calendar', name: 'cal' },
    });
    expect(created.status).toBe(201);
    const event = (uid: string, rule: string) =>
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//Hostile//EN',
        'BEGIN:VEVENT',
        `UID:${uid}`,
        'DTSTAMP:20260101T000000Z',
        'DTSTART:19700101T000000Z',
        'DTEND:19700101T000001Z',
        rule,
        'SUMMARY:every second',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n');
    for (let i = 0; i < 200; i += 20) {
      const puts = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          dav('PUT', `/dav/calendars/${USER}/cal/s${i + j}.ics`, event(`s${i + j}`, 'RRULE:FREQ=SECONDLY'), {
            'content-type': 'text/calendar',
          }),
        ),
      );
      expect(puts.map((p) => p.status)).toEqual(puts.map(() => 201));
    }
    const query = (expand: string) =>
      `<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/>${expand}</d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20200101T000000Z" end="21200101T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;

    // Matching jumps to the range instead of walking 50 years of seconds.
    const matched = await underAttack(() => dav('REPORT', `/dav/calendars/${USER}/cal/`, query(''), { depth: '1' }));
    expect(matched.status).toBe(207);
    expect(matched.body.match(/<d:response>/g)?.length).toBe(200);

    // Expanding a century of seconds cannot be done: a DAV error, not a frozen server.
    const expanded = await underAttack(() =>
      dav(
        'REPORT',
        `/dav/calendars/${USER}/cal/`,
        query('<c:calendar-data><c:expand start="20200101T000000Z" end="21200101T000000Z"/></c:calendar-data>'),
        { depth: '1' },
      ),
    );
    expect(expanded.status).toBe(207);
    expect(expanded.body).toContain('number-of-matches-within-limits');
    expect(expanded.body).toContain('507');

    // A rule that cannot jump (COUNT counts from DTSTART) is walked under the budget.
    const counted = await dav(
      'PUT',
      `/dav/calendars/${USER}/cal/counted.ics`,
      event('counted', 'RRULE:FREQ=SECONDLY;COUNT=2000000000'),
      { 'content-type': 'text/calendar' },
    );
    expect(counted.status).toBe(201);
    const walked = await underAttack(() => dav('REPORT', `/dav/calendars/${USER}/cal/`, query(''), { depth: '1' }));
    expect(walked.status).toBe(207);
    expect(walked.body).toContain('number-of-matches-within-limits');
  }, 60_000);

  it('refuses a multiget naming too many resources, and answers the allowed maximum quickly', async () => {
    const multiget = (count: number) =>
      `<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>${Array.from(
        { length: count },
        (_, i) => `<d:href>/dav/calendars/${USER}/cal/s${i % 200}.ics</d:href>`,
      ).join('')}</c:calendar-multiget>`;
    const tooMany = await underAttack(() =>
      dav('REPORT', `/dav/calendars/${USER}/cal/`, multiget(40_000), { depth: '1' }),
    );
    expect(tooMany.status).toBe(403);
    expect(tooMany.body).toContain('number-of-matches-within-limits');

    const started = performance.now();
    const most = await underAttack(() => dav('REPORT', `/dav/calendars/${USER}/cal/`, multiget(2000), { depth: '1' }));
    expect(most.status).toBe(207);
    expect(most.body.match(/<d:response>/g)?.length).toBe(2000);
    expect(performance.now() - started).toBeLessThan(5000);
  }, 30_000);

  it('caps event streams per device and per user', async () => {
    const fdsBefore = openFds();
    const controllers: AbortController[] = [];
    const responses: Response[] = [];
    const open = async (bearer: string) => {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(new URL('/v1/events', url), {
        headers: { authorization: `Bearer ${bearer}` },
        signal: controller.signal,
      });
      if (response.status !== 200) {
        const body = (await response.json()) as { code?: string };
        return { status: response.status, type: response.headers.get('content-type'), code: body.code };
      }
      // Held so the stream is not collected (and closed by fetch) while the test still counts it.
      responses.push(response);
      return { status: 200, type: response.headers.get('content-type'), code: null };
    };
    try {
      const second = (await login('second')).token;
      const third = (await login('third')).token;
      const results = await underAttack(async () => {
        const mine = await Promise.all(Array.from({ length: 30 }, () => open(token)));
        const others = [];
        for (const bearer of [second, second, second, third, third, third]) others.push(await open(bearer));
        return { mine, others };
      });
      expect(results.mine.filter((r) => r.status === 200)).toHaveLength(4);
      const refused = results.mine.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(26);
      for (const r of refused) expect(r).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(refused[0]?.type).toContain('application/problem+json');
      // Four of this device and two more of the user's: the per-user cap of six is reached.
      expect(results.others.map((r) => r.status)).toEqual([200, 200, 429, 429, 429, 429]);
      expect(openFds()).toBeLessThan(fdsBefore + 40);
      expect(responses).toHaveLength(6);
    } finally {
      for (const controller of controllers) controller.abort();
    }
  }, 30_000);

  it('ends the event stream of a revoked device and of a disabled user', async () => {
    // Streams from the previous test may take a moment to be counted as closed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const victim = await login('victim');
    const admin = await login('admin');
    const stream = async (bearer: string) => {
      const response = await fetch(new URL('/v1/events', url), { headers: { authorization: `Bearer ${bearer}` } });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      const ended = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          text += Buffer.from(value as Uint8Array).toString('utf8');
        }
      })();
      return { ended, text: () => text };
    };
    const live = await stream(victim.token);
    const revoked = await api(server.url, 'DELETE', `/v1/devices/${victim.deviceId}`, { token: admin.token });
    expect(revoked.status).toBe(204);
    // A change right after the revocation reaches no revoked stream.
    await api(server.url, 'POST', '/v1/collections', { token: admin.token, body: { type: 'notes', name: 'after' } });
    await Promise.race([
      live.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('stream still open')), 3000)),
    ]);
    expect(live.text()).toContain('event: ready');
    expect(live.text()).not.toContain('event: change');

    // The CLI runs in another process: the server finds out by asking the database.
    const other = await stream(admin.token);
    expect((await runCli(['user', 'disable', USER, '--data', data])).code).toBe(0);
    await Promise.race([
      other.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('stream still open')), 3000)),
    ]);
  }, 30_000);
});
