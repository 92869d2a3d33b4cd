import { randomBytes } from 'node:crypto';
import { closeSync, constants, type Dirent, open as openCallback, write } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fsyncDir, fsyncFd } from '@holdfast/node-io';
import { AppError } from '@holdfast/protocol';
import { createFileOnThread, failedStep } from './file-writer-thread.js';
import {
  assertListPrefix,
  assertObjectName,
  isObjectName,
  sameBytes,
  type Target,
  type TargetFailure,
  targetError,
} from './target.js';

/**
 * Objects up to this size are created on the writer thread (file-writer-thread.ts):
 * journal segments, account states, most snapshot objects. Larger ones (photos)
 * take the thread pool, so a long copy never holds a segment, and with it an
 * acknowledgement, behind it.
 */
const THREAD_MAX_BYTES = 1024 * 1024;

/** Error codes from the file system that mean "no room left". */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
/** `link` failures that mean the file system has no hard links; we fall back to rename. */
const NO_LINK_CODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Maps a file-system error to the target failure it stands for (`full` or `unavailable`). */
export function fsFailure(error: unknown): TargetFailure {
  return FULL_CODES.has(errorCode(error) ?? '') ? 'full' : 'unavailable';
}

/**
 * A target in a local directory (a mounted disk, a NAS share). The directory
 * must already exist: it is never created, so a backup disk that is not
 * mounted fails loudly instead of filling the mount point on the system disk.
 *
 * Writes go to a hidden temporary file in the object's directory, which is
 * fsynced and then hard-linked to its final name. Unlike `rename`, `link`
 * fails when the name exists, so two writers can never replace each other's
 * bytes. File systems without hard links fall back to check-then-rename.
 * Directories are fsynced after every new entry. Objects sit at
 * `<root>/<name>`, so names with `/` become subdirectories.
 */
export class DirectoryTarget implements Target {
  readonly description: string;
  readonly #root: string;

  /** A target rooted at `root`, which must be an existing directory. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = `dir:${this.#root}`;
  }

  /**
   * The common case, a new object of up to a MiB in an existing directory,
   * is one trip to the writer thread (file-writer-thread.ts): the temporary
   * file is created, written durably in one write (O_DSYNC), linked,
   * unlinked, and the directory fsynced, none of it on the event loop (on
   * ext4 a call that changes a directory can wait for the file system's
   * journal while another file's fsync commits it). Everything else takes the
   * same steps through the thread pool, creating missing directories; a name
   * that already exists is found by `link` itself.
   */
  async putObject(name: string, bytes: Uint8Array): Promise<void> {
    assertObjectName(name, this.description);
    const path = this.#path(name);
    try {
      const dir = dirname(path);
      if (bytes.byteLength <= THREAD_MAX_BYTES && (await this.#createOnThread(dir, path, bytes))) return;
      const tmp = temporaryName(path);
      try {
        await this.#writeTemporary(dir, tmp, bytes);
        if (!(await this.#publish(name, tmp, path, bytes))) {
          // The earlier writer may have crashed before its directory fsync; make the entry durable now.
          await fsyncFile(path);
        }
      } finally {
        await unlink(tmp).catch(() => {});
      }
      await fsyncDir(dir);
    } catch (error) {
      throw this.#wrap(error, 'write', name);
    }
  }

  async getObject(name: string): Promise<Uint8Array> {
    assertObjectName(name, this.description);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.#readIfPresent(this.#path(name));
    } catch (error) {
      throw this.#wrap(error, 'read', name);
    }
    if (!bytes) throw targetError('missing', this.description, `object ${name} does not exist`, { object: name });
    return bytes;
  }

  async hasObject(name: string): Promise<boolean> {
    assertObjectName(name, this.description);
    try {
      const stats = await stat(this.#path(name));
      return stats.isFile();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.#wrap(error, 'stat', name);
      await this.#assertRoot();
      return false;
    }
  }

  async listObjects(prefix: string): Promise<string[]> {
    assertListPrefix(prefix, this.description);
    const start = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const names: string[] = [];
    try {
      await this.#walk(start, names, true);
    } catch (error) {
      throw this.#wrap(error, 'list', prefix);
    }
    return names.filter((name) => name.startsWith(prefix)).sort();
  }

  async deleteObject(name: string): Promise<void> {
    assertObjectName(name, this.description);
    const path = this.#path(name);
    try {
      await unlink(path);
      await fsyncDir(dirname(path));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw this.#wrap(error, 'delete', name);
      await this.#assertRoot();
    }
  }

  async freeSpace(): Promise<number | null> {
    try {
      const stats = await statfs(this.#root);
      return stats.bavail * stats.bsize;
    } catch (error) {
      throw this.#wrap(error, 'statfs', '');
    }
  }

  async close(): Promise<void> {}

  #path(name: string): string {
    return join(this.#root, ...name.split('/'));
  }

  /**
   * The common case in one trip to the writer thread. False when the general
   * path must handle it: the directory is missing (the first object of a
   * fan-out directory, or the root is gone), the name exists, the file system
   * has no hard links, or the thread was lost.
   */
  async #createOnThread(dir: string, path: string, bytes: Uint8Array): Promise<boolean> {
    const tmp = temporaryName(path);
    try {
      await createFileOnThread(dir, tmp, path, bytes);
      return true;
    } catch (error) {
      const step = failedStep(error);
      const code = errorCode(error) ?? '';
      if (step === 'thread') {
        // The thread stopped mid-sequence and may have left its temporary file.
        await unlink(tmp).catch(() => {});
        return false;
      }
      if (step === 'open' && code === 'ENOENT') return false;
      if (step === 'link' && (code === 'EEXIST' || NO_LINK_CODES.has(code))) return false;
      throw error;
    }
  }

  /** Writes and fsyncs the temporary file, creating the object's directory when it is the first object there. */
  async #writeTemporary(dir: string, tmp: string, bytes: Uint8Array): Promise<void> {
    try {
      await writeDurably(tmp, bytes);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // The directory is missing: a new fan-out directory, or the root itself is gone (which #ensureDir reports).
      await this.#ensureDir(dir);
      await writeDurably(tmp, bytes);
    }
  }

  /**
   * Links the fsynced temporary file to its final name without ever replacing
   * an existing one. Returns false when the name already held these bytes.
   */
  async #publish(name: string, tmp: string, path: string, bytes: Uint8Array): Promise<boolean> {
    try {
      await link(tmp, path);
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'EEXIST' && !NO_LINK_CODES.has(code ?? '')) throw error;
      const existing = await this.#readIfPresent(path);
      if (existing) {
        this.#compareExisting(name, existing, bytes);
        return false;
      }
      // No hard links here: a concurrent writer could slip in between this
      // check and the rename. Names are content hashes, so in practice both
      // writers hold the same bytes.
      await rename(tmp, path);
      return true;
    }
  }

  #compareExisting(name: string, existing: Uint8Array, bytes: Uint8Array): void {
    if (sameBytes(existing, bytes)) return;
    throw targetError('write_once', this.description, `object ${name} already exists with different bytes`, {
      object: name,
    });
  }

  /** The file's bytes, or null if it does not exist (after confirming the root does). */
  async #readIfPresent(path: string): Promise<Uint8Array | null> {
    try {
      return await readFile(path);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'EISDIR') throw error;
      await this.#assertRoot();
      return null;
    }
  }

  /** Creates the object's parent directories and fsyncs every directory that gained an entry. */
  async #ensureDir(dir: string): Promise<void> {
    await this.#assertRoot();
    const first = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (first === undefined) return;
    const parents: string[] = [];
    for (let created = dir; created.startsWith(this.#root + sep); created = dirname(created)) {
      parents.push(dirname(created));
      if (created === first) break;
    }
    for (const parent of parents) await fsyncDir(parent);
  }

  async #walk(relative: string, names: string[], isStart: boolean): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.#root, relative), { withFileTypes: true });
    } catch (error) {
      // Only the prefix's own directory may be absent (nothing was ever stored
      // under it), and only inside the root. Anything else is an error, never "empty".
      if (!isStart || errorCode(error) !== 'ENOENT') throw error;
      await this.#assertRoot();
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (!isDirectory && !isFile) {
        const stats = await stat(join(this.#root, name));
        isDirectory = stats.isDirectory();
        isFile = stats.isFile();
      }
      if (isDirectory) await this.#walk(name, names, false);
      else if (isFile) {
        // Files that cannot be object names (stray copies, editor backups) are not objects.
        if (isObjectName(name)) names.push(name);
      } else throw new Error(`unexpected entry ${name} (neither file nor directory)`);
    }
  }

  async #assertRoot(): Promise<void> {
    let isDirectory = false;
    try {
      isDirectory = (await stat(this.#root)).isDirectory();
    } catch (error) {
      throw this.#wrap(error, 'open', '');
    }
    if (!isDirectory) throw targetError('unavailable', this.description, `${this.#root} is not a directory`);
  }

  #wrap(error: unknown, operation: string, name: string): Error {
    if (error instanceof AppError) return error;
    const what = name === '' ? this.#root : name;
    const message = `cannot ${operation} ${what} on ${this.description}: ${error instanceof Error ? error.message : String(error)}`;
    return targetError(fsFailure(error), this.description, message, {
      ...(name === '' ? {} : { object: name }),
      cause: error,
    });
  }
}

/** A hidden name beside `path`, unique to this write. */
function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Open flags of a temporary file; without O_DSYNC (some platforms) the write is followed by a fsync. */
const DSYNC_FLAGS =
  constants.O_DSYNC === undefined
    ? null
    : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;

/**
 * Creates `path` with `bytes`, durably. With O_DSYNC the write returns only
 * once the bytes (and the file's size) are on disk: one trip through the
 * thread pool where a write and a fsync take two.
 */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const fd = await openFd(path, DSYNC_FLAGS ?? 'wx');
  try {
    let written = 0;
    while (written < bytes.byteLength) written += await writeFd(fd, bytes, written);
    if (DSYNC_FLAGS === null || bytes.byteLength === 0) await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens in the thread pool: creating a file can wait for the file system's
 * journal (while another file's fsync commits it), which must not stall the
 * event loop.
 */
function openFd(path: string, flags: number | string): Promise<number> {
  return new Promise((resolve, reject) =>
    openCallback(path, flags, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function writeFd(fd: number, bytes: Uint8Array, offset: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, bytes, offset, bytes.byteLength - offset, offset, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
