import pino, { type Logger } from 'pino';

/**
 * The one root logger. JSON lines by default (what journald and log shippers want); pretty when a
 * person is watching a terminal. Components take children: log.child({ component: 'camera', camera }).
 */
/**
 * pino copies the level into each child when it is made, so a level changed on the root later would
 * not reach the loggers components already hold. Every child is tracked (weakly: per-request children
 * go with their request) so a config reload can set the level on all of them.
 */
const children = new Set<WeakRef<Logger>>();
const forget = new FinalizationRegistry<WeakRef<Logger>>((ref) => children.delete(ref));
function track(child: Logger): void {
  const ref = new WeakRef(child);
  children.add(ref);
  forget.register(child, ref);
}

/** Sets the level of the root logger and of every child made from it so far (live reload of log.level). */
export function setLogLevel(root: Logger, level: string): void {
  root.level = level;
  for (const ref of children) {
    const child = ref.deref();
    if (child) child.level = level;
  }
}

export function createLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }, dest: NodeJS.WritableStream = process.stdout): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && (dest as { isTTY?: boolean }).isTTY === true);
  if (pretty) {
    return pino({
      level: opts.level,
      onChild: track,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level: opts.level, base: { pid: process.pid }, onChild: track }, pino.destination({ dest: dest === process.stdout ? 1 : 2, sync: true }));
}
