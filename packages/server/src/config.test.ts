import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference, loadConfig, redactConfig } from './config.js';

describe('config', () => {
  it('docs/configuration.md is generated from the schema and in step with it', async () => {
    const doc = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toBe(configReference());
  });

  it('applies defaults, then the config file, then env, then flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-config-'));
    expect(loadConfig({ flags: { data: dir }, env: {} })).toMatchObject({
      port: 7870,
      host: '127.0.0.1',
      dataDir: dir,
    });
    await writeFile(join(dir, 'holdfast.json'), JSON.stringify({ port: 8000, logLevel: 'warn' }));
    expect(loadConfig({ flags: { data: dir }, env: {} })).toMatchObject({ port: 8000, logLevel: 'warn' });
    expect(loadConfig({ flags: { data: dir }, env: { HOLDFAST_PORT: '8001' } })).toMatchObject({
      port: 8001,
      logLevel: 'warn',
    });
    expect(loadConfig({ flags: { data: dir, port: '8002' }, env: { HOLDFAST_PORT: '8001' } }).port).toBe(8002);
    expect(loadConfig({ env: { HOLDFAST_DATA_DIR: dir } }).port).toBe(8000);
  });

  it('names the setting, flag and variable in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-config-'));
    expect(() => loadConfig({ flags: { data: dir, port: 'eighty' }, env: {} })).toThrow(
      /port \(--port \/ HOLDFAST_PORT\)/,
    );
    await writeFile(join(dir, 'holdfast.json'), JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ flags: { data: dir }, env: {} })).toThrow(/unknown settings prot/);
    await writeFile(join(dir, 'holdfast.json'), '{not json');
    expect(() => loadConfig({ flags: { data: dir }, env: {} })).toThrow(/not valid JSON/);
  });

  it('redacts secrets', () => {
    const config = loadConfig({
      flags: { database: 'postgres://holdfast:hunter2@db.internal/holdfast' },
      env: { HOLDFAST_S3_SECRET_ACCESS_KEY: 'topsecret' },
    });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('topsecret');
    expect(shown).toContain('db.internal');
  });
});
