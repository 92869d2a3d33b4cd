import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cliEntry = `${root}packages/cli/src/main.ts`;
/** Runs the CLI from source, exactly as `holdfast` would run the built files. */
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const nodeArgs = ['--conditions=source', '--import', tsx, cliEntry];
/** The `holdfast` command as `npm run build` leaves it and users run it: bin/holdfast.js and its bundle. */
export const builtCommand = `${root}packages/cli/bin/holdfast.js`;
/** Where the CLI runs from: the sources (the default), or the build (`builtCommand`). */
export type From = 'source' | 'build';
const argsFrom = (from: From = 'source') => (from === 'build' ? [builtCommand] : nodeArgs);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `holdfast ARGS` to completion. */
export function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; from?: From } = {},
): Promise<CliResult> {
  return runProgram(process.execPath, [...argsFrom(options.from), ...args], {
    stdin: options.stdin,
    env: { HOLDFAST_LOG_LEVEL: 'warn', ...options.env },
  });
}

/** Runs a program to completion from the repository root, collecting its output. */
export function runProgram(
  command: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL: no shutdown hooks, no flushing — a crash or power cut as far as the server can tell. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
  output(): string;
}

/** Starts `holdfast serve` as a child process and waits until it listens. */
export function startServerProcess(
  args: string[],
  env: Record<string, string> = {},
  cwd = root,
  from: From = 'source',
): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...argsFrom(from), 'serve', '--port', '0', ...args], {
      cwd,
      env: { ...process.env, HOLDFAST_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (data: Buffer) => {
      output += data;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          child,
          output: () => output,
          kill: async () => {
            child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
}

/** JSON over real HTTP. Test code reads the bodies loosely on purpose: the assertions are the type check. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in the tests.
export async function api<T = any>(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    redirect: 'manual',
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}
