import { fsyncDir } from '@holdfast/node-io';

/**
 * Directory fsyncs shared by concurrent puts. A caller needs an fsync that
 * starts after its own entry was made: one already running may have started
 * before, so callers arriving while it runs share the next one. However many
 * puts land in a directory at once, it costs at most two fsyncs in a row
 * instead of one each.
 */
export function createDirSync(sync: (dir: string) => Promise<void> = fsyncDir): (dir: string) => Promise<void> {
  const running = new Map<string, Promise<void>>();
  const queued = new Map<string, Promise<void>>();
  const start = (dir: string): Promise<void> => {
    const done = sync(dir).finally(() => {
      if (running.get(dir) === done) running.delete(dir);
    });
    running.set(dir, done);
    return done;
  };
  return (dir) => {
    const current = running.get(dir);
    if (!current) return start(dir);
    let next = queued.get(dir);
    if (!next) {
      // Whether the running fsync succeeds or fails, the next one is what the new callers need.
      next = current
        .catch(() => {})
        .then(() => {
          queued.delete(dir);
          return start(dir);
        });
      queued.set(dir, next);
    }
    return next;
  };
}
