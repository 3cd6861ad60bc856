import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { findMosquitto } from '../../src/outputs/mqtt/embedded-broker.js';
import { freePort } from '../../src/util/free-port.js';

export { freePort };

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port}`);
}

/** How the broker process ended, when it was not asked to by stop() or kill(). */
export interface BrokerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A real mosquitto on a free loopback port, for tests; stop() ends it gracefully, kill() with SIGKILL. */
export class TestBroker {
  private child: ChildProcess | undefined;
  /** Set when mosquitto exits on its own (or is ended by anyone but this object): a long test can say why its broker went. */
  unexpectedExit: BrokerExit | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'inspectd-test-broker-'));
  /**
   * persistent: sessions and queued QoS 1 messages survive a restart. They are saved every second
   * (autosave_interval 1), as a plant broker that must survive a crash is set up, so they survive
   * kill() too, up to the last second's changes.
   */
  constructor(
    readonly port: number,
    readonly persistent = false,
    /** Further mosquitto.conf lines (e.g. max_queued_messages, as a plant broker sets it). */
    readonly extraConf: readonly string[] = [],
    /** Keep mosquitto's own log (connections, errors) in `logPath`, for a test that runs for hours. */
    readonly keepLog = false,
  ) {}

  static async start(port?: number, opts: { persistent?: boolean; extraConf?: readonly string[]; keepLog?: boolean } = {}): Promise<TestBroker> {
    const b = new TestBroker(port ?? (await freePort()), opts.persistent ?? false, opts.extraConf ?? [], opts.keepLog ?? false);
    await b.restart();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logPath(): string {
    return join(this.dir, 'mosquitto.log');
  }

  /** The last lines of mosquitto's log (keepLog), '' without one. */
  logTail(lines = 20): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  /** mosquitto's process state from /proc (R, S, T when stopped by SIGSTOP, Z, ...); undefined once it is gone. */
  procState(): string | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  }

  /** mosquitto's resident memory now, in KiB (Linux /proc); undefined once it is gone. */
  rssKiB(): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  async restart(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    // Run as root, mosquitto drops to the `mosquitto` user, which cannot write our private temp
    // folder: persistence then fails silently. Naming the current user keeps it (no effect when not root).
    const persistence = this.persistent
      ? `persistence true\npersistence_location ${this.dir}/\nautosave_interval 1\nuser ${userInfo().username}\n`
      : 'persistence false\n';
    const log = this.keepLog ? `log_dest file ${this.logPath}\n${this.persistent ? '' : `user ${userInfo().username}\n`}log_type error\nlog_type warning\nlog_type notice\nlog_type information\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n` : 'log_dest none\n';
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\n${persistence}${this.extraConf.map((l) => `${l}\n`).join('')}${log}`);
    const child = spawn(findMosquitto(), ['-c', conf], { stdio: 'ignore' });
    this.child = child;
    this.unexpectedExit = undefined;
    child.once('exit', (code, signal) => {
      if (this.child === child) this.unexpectedExit = { code, signal, at: Date.now() };
    });
    await waitForPort(this.port, 5000);
  }

  /** A graceful stop: a persistent broker saves its sessions on SIGTERM; otherwise there is nothing to save. */
  stop(): Promise<void> {
    return this.end(this.persistent ? 'SIGTERM' : 'SIGKILL');
  }

  /** The broker dies without warning (SIGKILL): no save, no goodbye to its clients. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** The broker stops answering (SIGSTOP) with its sockets open: what was sent is neither acknowledged nor refused. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill(signal);
    });
  }
}
