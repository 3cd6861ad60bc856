import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from './model.js';

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
    const child = spawn(process.execPath, [cliPath, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    return new DaemonProcess(child, dir, dbPath);
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

  static async connect(url: string, topic = 'inspectd/+/verdict'): Promise<VerdictSubscriber> {
    const client = await mqtt.connectAsync(url, { clientId: `it-sub-${process.pid}-${Math.random().toString(36).slice(2)}` });
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
