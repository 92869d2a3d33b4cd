import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Owner-only: the data directory holds every user's data and the database. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface PermissionFinding {
  path: string;
  /** The current permission bits, octal, e.g. "0644". */
  mode: string;
  expected: string;
  message: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * The data directory and the entries directly inside it whose permissions let
 * anyone but the owner in. Only the top level is checked: with the directory
 * itself owner-only, nothing below it is reachable by others. Empty when all
 * is well or the directory does not exist yet.
 */
export async function checkDataDirPermissions(dataDir: string): Promise<PermissionFinding[]> {
  const findings: PermissionFinding[] = [];
  const check = async (path: string) => {
    const info = await stat(path).catch(() => null);
    if (!info || (info.mode & 0o077) === 0) return;
    const expected = info.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    findings.push({
      path,
      mode: octal(info.mode),
      expected: octal(expected),
      message: `${path} is ${octal(info.mode)}: other users on this machine can ${info.isDirectory() ? 'list or enter it' : 'read it'}; expected ${octal(expected)}.`,
    });
  };
  await check(dataDir);
  const entries = await readdir(dataDir).catch(() => [] as string[]);
  for (const name of entries) await check(join(dataDir, name));
  return findings;
}

/**
 * Creates the data directory owner-only, and tightens one left readable by an
 * older release or a loose umask. Returns what it could not fix (a directory
 * owned by another account, say) so the caller can warn: it never stops the
 * server.
 */
export async function secureDataDir(dataDir: string): Promise<PermissionFinding[]> {
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const finding of await checkDataDirPermissions(dataDir)) {
    const info = await stat(finding.path).catch(() => null);
    if (!info) continue;
    await chmod(finding.path, info.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE).catch(() => {});
  }
  return checkDataDirPermissions(dataDir);
}
