import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Record<string, unknown>;
type LevelCheck = { isLevelEnabled?: (level: string) => boolean };

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
  let made: FastifyBaseLogger | null = null;
  const make = (): FastifyBaseLogger => {
    made ??= parent.child(bindings);
    return made;
  };
  const enabled = (level: string): boolean => {
    if (made) return (made as LevelCheck).isLevelEnabled?.(level) ?? true;
    return (parent as LevelCheck).isLevelEnabled?.(level) ?? true;
  };
  const at =
    (level: Level) =>
    (...args: unknown[]): void => {
      if (!enabled(level)) return;
      (make()[level] as (...line: unknown[]) => void)(...args);
    };
  const logger = {
    get level(): string {
      return made ? made.level : parent.level;
    },
    set level(value: string) {
      make().level = value;
    },
    isLevelEnabled: enabled,
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: (): void => {},
    child: (more: Bindings, moreOptions?: object) =>
      made || (moreOptions && Object.keys(moreOptions).length > 0)
        ? make().child(more, moreOptions)
        : lazyChild(parent, { ...bindings, ...more }),
    bindings: (): Bindings => (make() as unknown as { bindings(): Bindings }).bindings(),
  };
  return logger as unknown as FastifyBaseLogger;
}
