import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from './model.js';

/**
 * The daemon as a plant runs it, seen from outside: a child process, an MQTT subscriber of our
 * own, and the SQLite file read afterwards. Nothing here reaches into the daemon's modules, so these
 * tests hold across a rework of its publish path or scheduler.
 */

/** The daemon as a user runs it: `inspectd run -c FILE` as a child process, its JSON log captured. */
export class DaemonProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly dbPath: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }

  /** Writes the config (storage in a fresh folder unless given) and starts the daemon on it. */
  static start(config: Record<string, unknown>, env: Record<string, string> = {}, dir = mkdtempSync(join(tmpdir(), 'inspectd-it-'))): DaemonProcess {
    const dbPath = ((config.storage as { path?: string } | undefined)?.path) ?? join(dir, 'verdicts.db');
    const cfg = { log: { level: 'info', format: 'json' }, ...config, storage: { ...(config.storage as object | undefined), path: dbPath } };
    const file = join(dir, 'inspectd.yaml');
    writeFileSync(file, stringify(cfg));
    return DaemonProcess.run(['run', '-c', file], { env, dir, dbPath });
  }

  /**
   * `inspectd ARGS` as given (an existing config file, no config at all, flags); `cwd` runs it from
   * another folder. `dir` and `dbPath` are only what the caller says they are.
   */
  static run(args: string[], opts: { cwd?: string; env?: Record<string, string>; dir?: string; dbPath?: string } = {}): DaemonProcess {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    return new DaemonProcess(child, opts.dir ?? opts.cwd ?? process.cwd(), opts.dbPath ?? '');
  }

  /** SIGTERM (clean stop) and its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** The `stopped` log line's stats. */
  stats(): Record<string, unknown> | undefined {
    const line = this.stdout.split('\n').find((l) => l.includes('"msg":"stopped"'));
    return line ? (JSON.parse(line) as { stats: Record<string, unknown> }).stats : undefined;
  }
}

export interface Received {
  msg: VerdictMessage;
  /** Date.now() when the subscriber got it: the PLC's side of the wire. */
  at: number;
}

/** An outside subscriber, as a PLC or SCADA is: every verdict in arrival order, stamped on receipt. */
export class VerdictSubscriber {
  readonly received: Received[] = [];
  private constructor(readonly client: MqttClient) {}

  /**
   * persistent: the broker keeps the session and queues for it while it is away (clean: false);
   * keepaliveS 0: the broker never drops it for silence, as it does after the machine froze this
   * process for longer than 1.5 keepalives.
   */
  static async connect(url: string, topic = 'inspectd/+/verdict', opts: { persistent?: boolean; keepaliveS?: number } = {}): Promise<VerdictSubscriber> {
    const client = await mqtt.connectAsync(url, {
      clientId: `it-sub-${process.pid}-${Math.random().toString(36).slice(2)}`,
      clean: !opts.persistent,
      ...(opts.keepaliveS === undefined ? {} : { keepalive: opts.keepaliveS }),
    });
    const sub = new VerdictSubscriber(client);
    client.on('message', (_t, payload) => sub.received.push({ msg: JSON.parse(payload.toString()) as VerdictMessage, at: Date.now() }));
    await client.subscribeAsync(topic, { qos: 1 });
    return sub;
  }

  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > end) throw new Error(`saw ${this.received.length} of ${count} verdicts in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `inspectd-${prefix}-`));
}

/** Writes `lines` as inspectd.yaml in `dir`; returns its path. */
export function writeConfig(dir: string, lines: string[]): string {
  const file = join(dir, 'inspectd.yaml');
  writeFileSync(file, [...lines, ''].join('\n'));
  return file;
}

/** `inspectd run [-c cfg] [...extra]` (no cfg: the embedded default); `cwd` to check paths are not resolved against it. */
export function startDaemon(cfg: string | undefined, extra: string[] = [], opts: { cwd?: string } = {}): DaemonProcess {
  return DaemonProcess.run(['run', ...(cfg === undefined ? [] : ['-c', cfg]), ...extra], opts);
}

/** Polls until the condition holds; the daemon's start-up time varies a lot on a loaded CI box. */
export async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface VerdictRow {
  station: string;
  seq: number;
  camera: string;
  frame_id: number;
  verdict: string;
  score: number | null;
  captured_at: number;
  decided_at: number;
  deadline_ms: number;
  late_verdict: string | null;
  late_score: number | null;
  late_defects: string | null;
  late_decided_at: number | null;
  published_at: number | null;
}

/** Every row of the verdict log in seq order; [] while the daemon has not yet created it. */
export function dbRows(db: string): VerdictRow[] {
  if (!existsSync(db)) return [];
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare('SELECT * FROM verdicts ORDER BY station, seq').all() as VerdictRow[];
  } catch (err) {
    // The daemon creates the file a moment before its schema.
    if (/no such table/.test((err as Error).message)) return [];
    throw err;
  } finally {
    d.close();
  }
}

/** One message as the subscriber saw it, in arrival order, with the time it arrived. */
export interface MqttMessage {
  topic: string;
  payload: string;
  retain: boolean;
  /** The broker's re-delivery to this subscriber (its PUBACK was not seen), not a new publish. */
  dup: boolean;
  receivedAt: number;
}

/**
 * An outside subscriber that keeps every message in arrival order (never a map keyed by seq, which
 * would hide both reordering and duplicates). `persistent` gives it a session the broker keeps
 * (clean: false, QoS 1), as a PLC gateway would have.
 */
export class Subscriber {
  readonly messages: MqttMessage[] = [];
  /** Connections made, the first included: each reconnect may bring re-deliveries. */
  connects = 0;
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, topic: string, opts: { persistent?: boolean; clientId?: string } = {}): Promise<Subscriber> {
    const clientId = opts.clientId ?? `test-sub-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const client = await mqtt.connectAsync(url, { clientId, clean: !opts.persistent, reconnectPeriod: 50, connectTimeout: 5000 });
    const sub = new Subscriber(client);
    client.on('message', (t, p, packet) =>
      sub.messages.push({ topic: t, payload: p.toString(), retain: packet.retain, dup: packet.dup, receivedAt: Date.now() }),
    );
    // A persistent session keeps its subscription across a reconnect; a clean one must subscribe again.
    sub.connects = 1;
    client.on('connect', (ack) => {
      sub.connects++;
      if (!ack.sessionPresent) void client.subscribe(topic, { qos: 1 });
    });
    await client.subscribeAsync(topic, { qos: 1 });
    return sub;
  }

  /** Verdicts in arrival order, each with its arrival time. */
  verdicts(): Array<VerdictMessage & { receivedAt: number; dup: boolean }> {
    return this.messages
      .filter((m) => m.topic.endsWith('/verdict'))
      .map((m) => ({ ...(JSON.parse(m.payload) as VerdictMessage), receivedAt: m.receivedAt, dup: m.dup }));
  }

  /** The station's own status (`{prefix}/{station}/status`), not the cameras' (`…/camera/{name}/status`). */
  statuses(): MqttMessage[] {
    return this.messages.filter((m) => /^[^/]+\/[^/]+\/status$/.test(m.topic));
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** Cleanups registered by a test, run in reverse in afterEach/afterAll even when it failed. */
export class Cleanups {
  private readonly list: Array<() => Promise<unknown> | unknown> = [];
  add(fn: () => Promise<unknown> | unknown): void {
    this.list.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.list.splice(0).reverse()) await Promise.resolve().then(fn).catch(() => {});
  }
}

/** A daemon run timed from outside: its subscriber, the daemon (stopped) and its exit status. */
export interface WatchedRun {
  sub: VerdictSubscriber;
  daemon: DaemonProcess;
  exitCode: number | null;
}

/**
 * Subscribes to `topic` on the broker, runs the daemon with `config` and `env` until `count` verdicts
 * arrived (or `timeoutMs`), and stops it cleanly: the subscriber stays open for the caller to close.
 */
export async function watchDaemon(brokerUrl: string, topic: string, config: Record<string, unknown>, env: Record<string, string>, count: number, timeoutMs = 45_000): Promise<WatchedRun> {
  const sub = await VerdictSubscriber.connect(brokerUrl, topic);
  const daemon = DaemonProcess.start(config, env);
  let exitCode: number | null;
  try {
    await sub.waitFor(count, timeoutMs);
  } finally {
    exitCode = await daemon.stop();
  }
  return { sub, daemon, exitCode };
}
