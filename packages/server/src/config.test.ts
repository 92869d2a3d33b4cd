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

  it('reads every secret setting from a file named by its _FILE variable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-config-'));
    await writeFile(join(dir, 's3-secret'), 'from-a-file\n');
    await writeFile(join(dir, 'database'), 'postgres://holdfast:pw@db.internal/holdfast');
    const config = loadConfig({
      flags: { data: dir },
      env: {
        HOLDFAST_S3_SECRET_ACCESS_KEY_FILE: join(dir, 's3-secret'),
        HOLDFAST_DATABASE_FILE: join(dir, 'database'),
        // backupPassphrase has its own file setting under this name, used byte for byte.
        HOLDFAST_BACKUP_PASSPHRASE_FILE: join(dir, 's3-secret'),
        // Not a secret: no _FILE form.
        HOLDFAST_PORT_FILE: join(dir, 'database'),
      },
    });
    expect(config.s3SecretAccessKey).toBe('from-a-file');
    expect(config.database).toBe('postgres://holdfast:pw@db.internal/holdfast');
    expect(config.backupPassphrase).toBe('');
    expect(config.backupPassphraseFile).toBe(join(dir, 's3-secret'));
    expect(config.port).toBe(7870);
    // The variable itself wins over its file form.
    expect(
      loadConfig({
        flags: { data: dir },
        env: { HOLDFAST_S3_SECRET_ACCESS_KEY: 'direct', HOLDFAST_S3_SECRET_ACCESS_KEY_FILE: join(dir, 's3-secret') },
      }).s3SecretAccessKey,
    ).toBe('direct');
    expect(() => loadConfig({ flags: { data: dir }, env: { HOLDFAST_DATABASE_FILE: join(dir, 'missing') } })).toThrow(
      /HOLDFAST_DATABASE_FILE: cannot read .*missing: ENOENT/,
    );
  });
});
