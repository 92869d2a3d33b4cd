import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Record<string, unknown>;
type LevelCheck = { isLevelEnabled?: (level: string) => boolean };

/** What one lazy logger holds; its methods are shared by all of them (see `methods`). */
interface Lazy {
  parent: FastifyBaseLogger;
  bindings: Bindings;
  /** Bindings a child added (the caller's ids), merged only when the logger is made. */
  more: Bindings | null;
  made: FastifyBaseLogger | null;
}

function make(self: Lazy): FastifyBaseLogger {
  self.made ??= self.parent.child(self.more ? { ...self.bindings, ...self.more } : self.bindings);
  return self.made;
}

function enabled(self: Lazy, level: string): boolean {
  return ((self.made ?? self.parent) as LevelCheck).isLevelEnabled?.(level) ?? true;
}

const at = (level: Level) =>
  function (this: Lazy, ...args: unknown[]): void {
    if (!enabled(this, level)) return;
    (make(this)[level] as (...line: unknown[]) => void)(...args);
  };

/**
 * One object with every method, the prototype of each lazy logger: a request
 * makes one or two of them (Fastify's, and the authenticated caller's), and
 * a handful of fields is cheaper than a closure per method each time.
 */
const methods = {
  get level(): string {
    const self = this as unknown as Lazy;
    return (self.made ?? self.parent).level;
  },
  set level(value: string) {
    make(this as unknown as Lazy).level = value;
  },
  isLevelEnabled(this: Lazy, level: string): boolean {
    return enabled(this, level);
  },
  fatal: at('fatal'),
  error: at('error'),
  warn: at('warn'),
  info: at('info'),
  debug: at('debug'),
  trace: at('trace'),
  silent(): void {},
  child(this: Lazy, more: Bindings, moreOptions?: object): FastifyBaseLogger {
    return this.made || (moreOptions && Object.keys(moreOptions).length > 0)
      ? make(this).child(more, moreOptions)
      : lazy(this.parent, this.bindings, this.more ? { ...this.more, ...more } : more);
  },
  bindings(this: Lazy): Bindings {
    return (make(this) as unknown as { bindings(): Bindings }).bindings();
  },
};

/**
 * A child logger that is made only when something is logged at an enabled
 * level. Most requests log nothing (per-request lines are at debug), and a
 * pino child per request, with its bindings serialised up front, is a
 * measurable part of the CPU a small request costs. Lines written carry the
 * same bindings as an eager child's.
 */
export function lazyChild(parent: FastifyBaseLogger, bindings: Bindings, options?: object): FastifyBaseLogger {
  // Options (a route's own level or serializers) change what is enabled: such a child is made at once.
  if (options && Object.keys(options).length > 0) return parent.child(bindings, options);
  return lazy(parent, bindings, null);
}

function lazy(parent: FastifyBaseLogger, bindings: Bindings, more: Bindings | null): FastifyBaseLogger {
  const self: Lazy = Object.create(methods);
  self.parent = parent;
  self.bindings = bindings;
  self.more = more;
  self.made = null;
  return self as unknown as FastifyBaseLogger;
}
