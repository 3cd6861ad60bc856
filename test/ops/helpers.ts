import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliPath, defaultModelJson } from '../helpers/model.js';

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A notify socket the test owns, as systemd's would be: a unix datagram socket bound by a small
 * python3 listener, which prints each datagram it receives as one JSON line.
 */
export class NotifyListener {
  readonly messages: Array<{ at: number; text: string }> = [];
  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(dir: string): Promise<NotifyListener> {
    const path = join(dir, 'notify.sock');
    const script = [
      'import json, socket, sys, time',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(sys.argv[1])',
      'while True:',
      '    data = s.recv(65536)',
      '    print(json.dumps({"at": time.time() * 1000, "text": data.decode()}), flush=True)',
    ].join('\n');
    const child = spawn('python3', ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const l = new NotifyListener(path, child);
    createInterface({ input: child.stdout! }).on('line', (line) => l.messages.push(JSON.parse(line) as { at: number; text: string }));
    await waitFor('the notify socket', () => existsSync(path), 10_000);
    return l;
  }

  /** Each `KEY=value` assignment received, in order (a datagram may carry several). */
  assignments(): Array<{ at: number; key: string; value: string }> {
    return this.messages.flatMap((m) =>
      m.text
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => ({ at: m.at, key: l.slice(0, l.indexOf('=')), value: l.slice(l.indexOf('=') + 1) })),
    );
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  event?: string;
  [k: string]: unknown;
}

/** `inspectd run` as a child process, its JSON log lines collected as they come. */
export class DaemonProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (a library printing to stdout): ignore
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static start(configFile: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): DaemonProcess {
    const child = spawn(process.execPath, [cliPath, 'run', '-c', configFile, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, ...env },
    });
    return new DaemonProcess(child);
  }

  event(name: string): LogLine | undefined {
    return this.logs.find((l) => l.event === name);
  }

  events(name: string): LogLine[] {
    return this.logs.filter((l) => l.event === name);
  }

  /** The HTTP server's address once it listens (the tests ask for port 0: any free port). */
  async httpBase(): Promise<string> {
    const l = await waitFor('http.listening', () => this.event('http.listening'), 30_000);
    return `http://${String(l.host)}:${String(l.port)}`;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `inspectd-${prefix}-`));
}

/** A synthetic-line config as YAML text; `extra` lines are appended at the top level. */
export function syntheticConfig(o: { dir: string; fps?: number; deadlineMs?: number; threshold?: number; defectRate?: number; extra?: string[] }): string {
  return [
    `deadlineMs: ${o.deadlineMs ?? 250}`,
    'model:',
    `  path: ${defaultModelJson}`,
    'cameras:',
    '  - name: cam1',
    '    partId: frame',
    ...(o.threshold !== undefined ? ['    thresholds:', `      default: ${o.threshold}`] : []),
    '    source:',
    '      type: synthetic',
    `      fps: ${o.fps ?? 20}`,
    `      defectRate: ${o.defectRate ?? 0.3}`,
    'storage:',
    `  path: ${join(o.dir, 'verdicts.db')}`,
    'log:',
    '  level: info',
    '  format: json',
    ...(o.extra ?? []),
    '',
  ].join('\n');
}

export function writeConfig(dir: string, text: string, name = 'inspectd.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text format → samples (enough of it for these tests: no escapes in values, no timestamps). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(base: string): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${base}/metrics`)).text());
}

export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}
