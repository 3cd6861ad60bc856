import pino, { type Logger } from 'pino';

/**
 * The one root logger. JSON lines by default (what journald and log shippers want); pretty when a
 * person is watching a terminal. Components take children: log.child({ component: 'camera', camera }).
 */
export function createLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }, dest: NodeJS.WritableStream = process.stdout): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && (dest as { isTTY?: boolean }).isTTY === true);
  if (pretty) {
    return pino({
      level: opts.level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level: opts.level, base: { pid: process.pid } }, pino.destination({ dest: dest === process.stdout ? 1 : 2, sync: true }));
}
