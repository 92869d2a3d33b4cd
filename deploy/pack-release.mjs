#!/usr/bin/env node
// Packs the `holdfast` command into holdfast-<version>.tgz, installable without a checkout:
//   npm install ./holdfast-<version>.tgz && npx holdfast serve
// The workspace packages (@holdfast/*) are not published, so they travel inside the tarball as bundled
// dependencies (their built dist/ only); every third-party dependency, native ones included
// (better-sqlite3, @node-rs/argon2), stays a normal dependency that npm installs for the target machine.
// Run through `npm run pack:release`, which builds first.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(join(root, path), 'utf8'));
const rootManifest = readJson('package.json');
const cli = readJson('packages/cli/package.json');
// Every workspace package the CLI reaches, found by walking @holdfast/* dependencies, so a new
// package cannot be left out of the tarball (it would install and then fail at the first import).
const bundled = [];
const walk = (manifest) => {
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (!name.startsWith('@holdfast/')) continue;
    const dir = name.slice('@holdfast/'.length);
    if (bundled.includes(dir)) continue;
    bundled.push(dir);
    walk(readJson(`packages/${dir}/package.json`));
  }
};
walk(cli);
bundled.sort();

const dependencies = {};
for (const manifest of [cli, ...bundled.map((name) => readJson(`packages/${name}/package.json`))]) {
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (name.startsWith('@holdfast/')) continue;
    if (dependencies[name] && dependencies[name] !== range) {
      throw new Error(`${name} is required as ${dependencies[name]} and as ${range}: align the workspace packages`);
    }
    dependencies[name] = range;
  }
}

// Built output only: no sources, no build info. Tests are not compiled into dist/.
const copyDist = (from, to) =>
  cpSync(join(root, from), to, { recursive: true, filter: (path) => !path.endsWith('.tsbuildinfo') });

const stage = mkdtempSync(join(tmpdir(), 'holdfast-release-'));
try {
  copyDist('packages/cli/dist', join(stage, 'dist'));
  cpSync(join(root, 'packages/cli/bin'), join(stage, 'bin'), { recursive: true });
  for (const file of ['README.md', 'SECURITY.md', 'CHANGELOG.md']) cpSync(join(root, file), join(stage, file));
  cpSync(join(root, 'deploy'), join(stage, 'deploy'), { recursive: true, filter: (path) => !path.endsWith('.mjs') });

  for (const name of bundled) {
    const manifest = readJson(`packages/${name}/package.json`);
    const target = join(stage, 'node_modules', '@holdfast', name);
    mkdirSync(target, { recursive: true });
    copyDist(`packages/${name}/dist`, join(target, 'dist'));
    // The `source` condition points at TypeScript that is not shipped.
    for (const entry of Object.values(manifest.exports ?? {})) delete entry.source;
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  // The web portal: built files only (its libraries are compiled into them), found by the server beside itself.
  const web = readJson('packages/web/package.json');
  const webTarget = join(stage, 'node_modules', '@holdfast', 'web');
  if (!existsSync(join(root, 'packages/web/dist/index.html')))
    throw new Error('build the portal first (npm run build)');
  cpSync(join(root, 'packages/web/dist'), join(webTarget, 'dist'), { recursive: true });
  const webManifest = {
    name: web.name,
    version: web.version,
    private: true,
    type: 'module',
    description: web.description,
  };
  writeFileSync(join(webTarget, 'package.json'), `${JSON.stringify(webManifest, null, 2)}\n`);
  bundled.push('web');
  bundled.sort();

  const manifest = {
    name: 'holdfast',
    version: cli.version,
    type: 'module',
    description: rootManifest.description,
    license: rootManifest.license,
    engines: rootManifest.engines,
    bin: cli.bin,
    files: ['bin', 'dist', 'deploy', 'README.md', 'SECURITY.md', 'CHANGELOG.md'],
    dependencies: {
      ...Object.fromEntries(bundled.map((name) => [`@holdfast/${name}`, cli.version])),
      ...Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
    },
    bundleDependencies: bundled.map((name) => `@holdfast/${name}`),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const out = process.argv[2] ?? root;
  mkdirSync(out, { recursive: true });
  execFileSync('npm', ['pack', '--pack-destination', out], { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
