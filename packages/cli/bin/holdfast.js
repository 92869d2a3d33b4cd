#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=40 --v8-pool-size=1 --no-sparkplug
// The bundle of dist/main.js (build-bundle.mjs), built with the rest by `npm run build`.
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv.slice(2));
