/**
 * Where the time of bench/load goes, beside the client's latencies: what the
 * servers measured themselves (/metrics), how the kernel scheduled their
 * event loops (/proc/PID/schedstat), and how loaded the machine was. Read
 * once before the measured window and once after; the figures printed are
 * the differences, so setup (logins, first DAV sign-ins) is left out.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { cpuSeconds, rssMb } from './support.js';

export interface Probe {
  /** User + system CPU seconds of all server processes. */
  serverCpu: number;
  /** This process's CPU seconds (the load generator). */
  clientCpu: number;
  /** Main threads (event loops) of the servers: seconds on a CPU, and ready but waiting for one. */
  running: number;
  queued: number;
  /** Per route (`METHOD /pattern`): seconds the servers spent answering it, and how many. */
  routes: Map<string, { sum: number; count: number }>;
  argon2: number;
  cacheHits: number;
  cacheMisses: number;
  /** Event loop delay since the previous scrape (prom-client resets it when read), worst server. */
  lagP99: number;
  lagMax: number;
}

const ROUTE =
  /^holdfast_http_request_duration_seconds_(sum|count)\{method="(\w+)",route="([^"]*)",status="\d+"\} (\S+)/gm;

function total(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Seconds the main thread of `pid` spent on a CPU and ready but waiting for one (Linux schedstat). */
async function mainThreadSched(pid: number): Promise<{ running: number; queued: number }> {
  const [running, queued] = (await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ').map(Number);
  return { running: (running ?? 0) / 1e9, queued: (queued ?? 0) / 1e9 };
}

export async function probe(urls: string[], pids: number[]): Promise<Probe> {
  const usage = process.cpuUsage();
  const out: Probe = {
    serverCpu: 0,
    clientCpu: (usage.user + usage.system) / 1e6,
    running: 0,
    queued: 0,
    routes: new Map(),
    argon2: 0,
    cacheHits: 0,
    cacheMisses: 0,
    lagP99: 0,
    lagMax: 0,
  };
  for (const pid of pids) {
    out.serverCpu += await cpuSeconds(pid);
    const sched = await mainThreadSched(pid);
    out.running += sched.running;
    out.queued += sched.queued;
  }
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(ROUTE)) {
      const key = `${m[2]} ${m[3]}`;
      const entry = out.routes.get(key) ?? { sum: 0, count: 0 };
      if (m[1] === 'sum') entry.sum += Number(m[4]);
      else entry.count += Number(m[4]);
      out.routes.set(key, entry);
    }
    out.argon2 += total(text, /^holdfast_password_verifications_total (\d+)/gm);
    out.cacheHits += total(text, /^holdfast_dav_credential_cache_total\{result="hit"\} (\d+)/gm);
    out.cacheMisses += total(text, /^holdfast_dav_credential_cache_total\{result="(?:miss|stale)"\} (\d+)/gm);
    const gauge = (name: string) =>
      Number(new RegExp(`^holdfast_process_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    out.lagP99 = Math.max(out.lagP99, gauge('p99'));
    out.lagMax = Math.max(out.lagMax, gauge('max'));
  }
  return out;
}

/** The load average, as `uptime` prints it: how much else the machine was doing. */
export function uptime(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

/** Lines describing the window between two probes of the same servers. */
export async function describeWindow(before: Probe, after: Probe, seconds: number, pids: number[]): Promise<string[]> {
  const servers = pids.length;
  const clientCpu = after.clientCpu - before.clientCpu;
  const running = (after.running - before.running) / servers;
  const queued = (after.queued - before.queued) / servers;
  const pct = (s: number) => `${((100 * s) / seconds).toFixed(0)}%`;
  const routes = [...after.routes]
    .map(([key, e]) => {
      const earlier = before.routes.get(key) ?? { sum: 0, count: 0 };
      return [key, { sum: e.sum - earlier.sum, count: e.count - earlier.count }] as const;
    })
    .filter(([, e]) => e.count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, e]) => `${key} ${((e.sum / e.count) * 1000).toFixed(1)} ms`);
  const rss = await Promise.all(pids.map(rssMb));
  return [
    `load generator CPU: ${clientCpu.toFixed(1)} s (${(clientCpu / seconds).toFixed(2)} cores); machine: ${uptime()}`,
    `server event loop${servers > 1 ? 's (mean)' : ''}: ${pct(running)} on a CPU, ${pct(queued)} ready but ` +
      `waiting for a CPU, ${pct(seconds - running - queued)} idle or blocked; delay p99 ` +
      `${(after.lagP99 * 1000).toFixed(1)} ms, max ${(after.lagMax * 1000).toFixed(1)} ms`,
    `server's own mean time per route: ${routes.join('; ')}`,
    `argon2 verifications ${after.argon2 - before.argon2} (DAV credential cache: ${after.cacheHits - before.cacheHits} ` +
      `hits, ${after.cacheMisses - before.cacheMisses} misses) | server RSS ${rss.map((r) => r.toFixed(0)).join(', ')} MB`,
  ];
}
