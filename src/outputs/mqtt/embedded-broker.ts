import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { InspectdError } from '../../errors.js';

/**
 * The embedded broker is Debian's mosquitto run as a child process on loopback: a real broker
 * any PLC, mosquitto_sub or Node-RED can use at once, owned (started and stopped) by the daemon.
 */
export function findMosquitto(explicit?: string): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new InspectdError('INSPECTD_BROKER', `mosquitto binary ${explicit} does not exist`);
    return explicit;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    const p = join(d, 'mosquitto');
    if (d && existsSync(p)) return p;
  }
  throw new InspectdError(
    'INSPECTD_BROKER',
    'mosquitto not found: install it (apt-get install mosquitto) or set mqtt.url to the plant broker',
  );
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * The broker the station talks to: the plant's (`mqtt.url`), or, when none is configured, an
 * embedded mosquitto started here (the embedded default needs no broker installed elsewhere).
 */
export async function stationBroker(m: Config['mqtt'], log: Logger): Promise<{ url: string; embedded?: EmbeddedBroker }> {
  if (m.url) return { url: m.url };
  const b = m.embeddedBroker;
  const embedded = new EmbeddedBroker(b.host, b.port, log, b.binary);
  await embedded.start();
  return { url: embedded.url, embedded };
}

export class EmbeddedBroker {
  private child: ChildProcess | undefined;
  private dir: string | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly log: Logger,
    private readonly binary?: string,
  ) {}

  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    const bin = findMosquitto(this.binary);
    if (await portOpen(this.host, this.port)) {
      throw new InspectdError(
        'INSPECTD_BROKER',
        `cannot start the embedded broker: ${this.host}:${this.port} is already in use (set mqtt.embeddedBroker.port, or mqtt.url / --broker to use that broker)`,
      );
    }
    this.dir = mkdtempSync(join(tmpdir(), 'inspectd-broker-'));
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} ${this.host}`,
        'allow_anonymous true',
        // Forward each verdict at once: with Nagle on, a second message to a subscriber waits until
        // the subscriber's ACK of the first (up to Linux's 40 ms delayed ACK when it has nothing to send).
        'set_tcp_nodelay true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) this.log.warn({ event: 'broker.embedded_output', broker: line.trim() }, 'embedded broker');
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await portOpen(this.host, this.port)) {
        this.log.info({ event: 'broker.embedded_started', url: this.url, pid: child.pid }, 'embedded mqtt broker started');
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new InspectdError('INSPECTD_BROKER', `embedded broker did not start on ${this.url}: ${stderr.trim() || 'no output'}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 3000).unref();
      });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
