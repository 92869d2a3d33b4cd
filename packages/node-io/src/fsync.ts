import { closeSync, fsync, openSync } from 'node:fs';

/** Waits in the thread pool until the descriptor's data is on disk. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Makes a directory's entries (a created, renamed or removed file) durable:
 * a file's own fsync does not cover the name that points to it. Only the
 * fsync waits in the thread pool: opening and closing a directory are
 * answered from the kernel's caches, and each trip through the pool waits
 * behind everything else a busy event loop has to do.
 */
export async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals its entries itself.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
