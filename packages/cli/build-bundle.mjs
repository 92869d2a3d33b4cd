#!/usr/bin/env node
// Bundles the built `holdfast` command (dist/main.js and everything it imports, the workspace packages and their
// libraries) into dist/bundle/, which bin/holdfast.js runs. Why: a Node process keeps every loaded module's source
// text and a record per module for as long as it runs; one minified bundle holds less source (no comments, short
// local names, only the parts of Kysely and zod that are used, none of zod's 60-odd locales) in far fewer modules.
// The server holds about 6 MiB less from start on (docs/memory.md). Code splitting keeps each `await import()`
// a chunk of its own, loaded on first use as before.
//
// Left outside, loaded from node_modules at run time: native addons, libraries loaded on first use through
// require() or import() that are large or read files beside themselves, and Fastify's schema compilers, which
// Fastify requires only if a route declares a JSON Schema (none does).
//
// Identifiers are not minified, so a stack trace in the log still names the functions it went through.

import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const outdir = here('./dist/bundle');

const external = [
  'better-sqlite3',
  'better-sqlite3-napi',
  '@node-rs/argon2',
  'sharp',
  'pg',
  'pg-native',
  '@aws-sdk/*',
  'nodemailer',
  'yauzl',
  'yazl',
  'saxes',
  'exifr',
  'ical.js',
  'fast-xml-parser',
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
];

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: here('./dist/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  minifyWhitespace: true,
  minifySyntax: true,
  external,
  logLevel: 'warning',
  // The CommonJS libraries inside (Fastify and its plugins, pino) require() node's built-ins, which an ES module
  // has no require() for: each chunk gets one, resolving from the bundle's own folder.
  banner: {
    js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
  },
});

// What the bundle leaves outside it loads from its own folder at run time, so each library must resolve from
// there to the version the workspace package using it resolves to: another version hoisted to the top of
// node_modules (a test tool's older fast-xml-parser, say) would be loaded instead, and fail only when first used.
// This package declares each of them for that reason, as the release's manifest does (deploy/pack-release.mjs).
const installed = (from, name) => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) {
      const { version } = JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8'));
      return { version, path: realpathSync(candidate) };
    }
    if (dirname(dir) === dir) return undefined;
  }
};
const at = (where) => (where ? `${where.version} (${where.path})` : 'not found');
const workspace = here('../');
const wrong = [];
for (const user of ['server', 'node-io', 'protocol', 'backup']) {
  const manifest = JSON.parse(readFileSync(join(workspace, user, 'package.json'), 'utf8'));
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    const outside = external.some((pattern) =>
      pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name,
    );
    if (!outside) continue;
    const wanted = installed(join(workspace, user), name);
    const found = installed(outdir, name);
    if (found?.version !== wanted?.version)
      wrong.push(`${name}: ${at(found)} from the bundle, ${at(wanted)} from ${user}`);
  }
}
if (wrong.length > 0) {
  console.error(
    'build-bundle: libraries the bundle loads at run time resolve to other versions than their users do; ' +
      `declare each in packages/cli/package.json with its user's range, then npm install:\n  ${wrong.join('\n  ')}`,
  );
  process.exit(1);
}
