import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

/** The parts of the `sd-notify` package (libsystemd's sd_notify) that inspectd uses. */
interface SdNotifyBinding {
  ready(): void;
  stopping(pid: number): void;
  watchdog(): void;
  /** WATCHDOG_USEC in ms, 0 when systemd asked for no watchdog. */
  watchdogInterval(): number;
  sendState(state: string): void;
}

/**
 * Tells systemd (Type=notify) where the daemon is: READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1 and
 * STATUS=. Through the optional `sd-notify` package, which wraps libsystemd's sd_notify(3) (abstract
 * sockets and all): Node itself cannot send on a unix datagram socket. Without NOTIFY_SOCKET (not
 * under systemd) every call is a no-op; with NOTIFY_SOCKET but no package, one warning says why the
 * unit will time out, and what to install.
 */
export class SystemdNotifier {
  private readonly binding: SdNotifyBinding | undefined;
  /** WATCHDOG=1 is due at least this often (half of WatchdogSec, as sd_watchdog_enabled(3) advises); 0 = no watchdog. */
  readonly watchdogEveryMs: number;
  private lastStatus = '';

  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    if (!env.NOTIFY_SOCKET) {
      this.binding = undefined;
      this.watchdogEveryMs = 0;
      return;
    }
    this.binding = loadBinding(log);
    this.watchdogEveryMs = this.binding ? Math.floor(this.binding.watchdogInterval() / 2) : 0;
    if (this.binding) log.info({ event: 'systemd.notify', socket: env.NOTIFY_SOCKET, watchdogEveryMs: this.watchdogEveryMs }, 'telling systemd our state');
  }

  get enabled(): boolean {
    return this.binding !== undefined;
  }

  ready(status: string): void {
    this.send(`READY=1\nSTATUS=${oneLine(status)}`);
    this.lastStatus = status;
  }

  reloading(): void {
    this.send('RELOADING=1\nSTATUS=reloading config');
  }

  stopping(): void {
    this.send('STOPPING=1\nSTATUS=stopping: finishing in-flight frames, writing and publishing every verdict');
  }

  watchdog(): void {
    if (this.binding) this.binding.watchdog();
  }

  status(status: string): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.send(`STATUS=${oneLine(status)}`);
  }

  private send(state: string): void {
    if (!this.binding) return;
    try {
      this.binding.sendState(`${state}\n`);
    } catch (err) {
      this.log.warn({ event: 'systemd.notify_failed', err: errorMessage(err) }, 'sd_notify failed');
    }
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ');
}

function loadBinding(log: Logger): SdNotifyBinding | undefined {
  try {
    // An optional dependency with a native part: it is absent where libsystemd-dev was missing at install.
    return createRequire(import.meta.url)('sd-notify') as SdNotifyBinding;
  } catch (err) {
    log.warn(
      { event: 'systemd.notify_unavailable', err: errorMessage(err) },
      'NOTIFY_SOCKET is set but the sd-notify package is not installed (it builds against libsystemd-dev): systemd will not hear READY=1 or WATCHDOG=1, so a Type=notify unit times out. Install libsystemd-dev and run npm ci, or use Type=simple without WatchdogSec.',
    );
    return undefined;
  }
}
