import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../config.js';

/**
 * The configured target locations, in order (`backupTargets`, comma-separated). Kept apart from targets.ts so
 * that counting them (the admin overview) does not load the backup package.
 */
export function backupTargetLocations(config: Pick<Config, 'backupTargets' | 'dataDir'>): string[] {
  return config.backupTargets
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => (entry.startsWith('s3://') || isAbsolute(entry) ? entry : resolve(config.dataDir, entry)));
}
