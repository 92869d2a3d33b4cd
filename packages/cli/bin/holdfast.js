#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=40 --v8-pool-size=1 --no-sparkplug
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
