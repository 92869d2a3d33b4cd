import { open } from 'node:fs/promises';

/**
 * Makes a directory's entries (a created, renamed or removed file) durable:
 * a file's own fsync does not cover the name that points to it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals its entries itself.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
