import { posix } from 'node:path';

/** What a Google Photos sidecar says about its photo, where it says it. */
export interface Sidecar {
  title?: string;
  description?: string;
  /** ISO 8601, from `photoTakenTime.timestamp` (seconds since the epoch). */
  takenAt?: string;
}

/**
 * The Google Takeout sidecar of a photo, if the archive holds one. Takeout
 * names it `<photo>.json` or (since 2024) `<photo>.supplemental-metadata.json`,
 * cuts long names short (`IMG_20200101_120000123.jpg.supplemental-met.json`),
 * and for the second photo of a name puts the counter last:
 * `IMG_1234(1).jpg` has `IMG_1234.jpg(1).json`.
 */
export function findSidecar(photo: string, paths: Set<string>): string | null {
  const dir = posix.dirname(photo);
  const name = posix.basename(photo);
  const prefix = dir === '.' ? '' : `${dir}/`;
  const counted = /^(.*)(\(\d+\))(\.[^.]+)$/.exec(name);
  const names = counted ? [`${counted[1]}${counted[3]}`, counted[2]] : [name, ''];
  const [base, counter] = names as [string, string];
  const full = `${base}.supplemental-metadata`;
  for (const candidate of [`${base}${counter}.json`, `${full}${counter}.json`]) {
    if (paths.has(prefix + candidate)) return prefix + candidate;
  }
  // A shortened name: the longest stem that `<photo>.supplemental-metadata` starts with.
  let best: string | null = null;
  for (const path of paths) {
    if (!path.startsWith(prefix) || !path.endsWith(`${counter}.json`)) continue;
    const stem = path.slice(prefix.length, path.length - counter.length - '.json'.length);
    if (stem.includes('/') || stem.length <= base.length || !full.startsWith(stem)) continue;
    if (best === null || path.length > best.length) best = path;
  }
  return best;
}

/** The fields of a sidecar Holdfast keeps; a sidecar that does not parse gives nothing. */
export function readSidecar(bytes: Uint8Array): Sidecar {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
  if (typeof json !== 'object' || json === null) return {};
  const o = json as Record<string, unknown>;
  const out: Sidecar = {};
  if (typeof o.title === 'string' && o.title.trim() !== '') out.title = o.title;
  if (typeof o.description === 'string' && o.description.trim() !== '') out.description = o.description;
  const taken = (o.photoTakenTime as { timestamp?: unknown } | undefined)?.timestamp;
  const seconds = Number(taken);
  if (taken !== undefined && Number.isFinite(seconds) && seconds > 0) {
    out.takenAt = new Date(seconds * 1000).toISOString();
  }
  return out;
}
