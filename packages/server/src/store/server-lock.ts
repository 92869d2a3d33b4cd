import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@holdfast/protocol';

export const SERVER_LOCK_FILE = 'server.pid';

export interface ServerLock {
  path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One server per SQLite data directory: two would each keep their own
 * change notifications, high-water mark and backup loops over one file.
 * The file holds the owner's pid; one left by a server that died is taken
 * over (the pid no longer runs).
 */
export async function acquireServerLock(dataDir: string): Promise<ServerLock> {
  const path = join(dataDir, SERVER_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return {
        path,
        release: async () => {
          const owner = await readFile(path, 'utf8').catch(() => '');
          if (Number(owner.trim()) === process.pid) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new AppError(
        'conflict',
        `another Holdfast server (pid ${pid}) is already running on the data directory ${dataDir}`,
        { pid },
      );
    }
    // Stale: its server is gone.
    await rm(path, { force: true });
  }
  throw new AppError('conflict', `cannot take the server lock ${path}: it keeps reappearing`);
}
