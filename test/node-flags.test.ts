import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The server runs with the same V8 flags however it is started: `npm start`, the `holdfast` command (its
 * shebang, so `npx holdfast serve` and the installed release), the systemd unit, and the benches, which must
 * measure the server as it is deployed. A flag changed in one place only would make the figures lie.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const flagsIn = (line: string) => line.split(/\s+/).filter((word) => word.startsWith('--') && !word.includes('import'));

describe('server node flags', () => {
  const startScript = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
  const shebang = read('packages/cli/bin/holdfast.js').split('\n')[0] ?? '';
  const unit = /^ExecStart=(.*)$/m.exec(read('deploy/holdfast.service'))?.[1] ?? '';
  const bench = /HOLDFAST_BENCH_SERVER_NODE_ARGS \?\?\s*'([^']*)'/.exec(read('bench/support.ts'))?.[1] ?? '';

  it('are the same for npm start, the holdfast command, the systemd unit and the benches', () => {
    const expected = flagsIn(startScript);
    expect(expected.length).toBeGreaterThan(0);
    expect(flagsIn(shebang.replace(/^#!\/usr\/bin\/env -S /, ''))).toEqual(expected);
    expect(flagsIn(unit.split(' /opt/')[0] ?? '')).toEqual(expected);
    expect(flagsIn(bench)).toEqual(expected);
  });

  it('leave the holdfast command runnable by its shebang', () => {
    // Run as a program, not through node: the kernel hands the flags to node through `env -S`.
    const usage = execFileSync(`${root}packages/cli/bin/holdfast.js`, ['--help'], { encoding: 'utf8' });
    expect(usage).toContain('holdfast serve');
  });
});
