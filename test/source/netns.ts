import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A network namespace with only loopback up, for tests whose traffic must not leave the machine:
 * GigE Vision discovery broadcasts on every interface. Processes run in it with `ip netns exec`
 * (which execs the command, so the child's pid is the program's own). remove() kills them and
 * deletes the namespace; call it from afterAll so it runs even when a test fails.
 */
export class TestNetns {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  static create(): TestNetns {
    const name = `inspectd-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new TestNetns(name);
    try {
      execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      ns.remove();
      throw err;
    }
    return ns;
  }

  spawn(command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops a child started here and waits for it to be gone. */
  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  remove(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', this.name]);
    } catch {
      // Already gone.
    }
  }
}

/** Debian's GigE Vision camera simulator (aravis-tools), on the namespace's loopback: Aravis-Fake-GV01 by default. */
export async function startFakeGigeCamera(ns: TestNetns, serial = 'GV01'): Promise<ChildProcess> {
  const child = ns.spawn('arv-fake-gv-camera-0.8', ['-i', '127.0.0.1', '-s', serial]);
  // It announces nothing on stdout when ready; ask for it until discovery answers.
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const out = execFileSync('ip', ['netns', 'exec', ns.name, 'arv-tool-0.8', '-n', `Aravis-Fake-${serial}`, 'control', 'DeviceModelName'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (/DeviceModelName\s*=/.test(out)) return child;
    if (child.exitCode !== null) break;
  }
  throw new Error(`fake GigE camera ${serial} did not answer discovery`);
}

export interface ProbeEvent {
  event: 'frame' | 'state' | 'error' | 'started' | 'stopped';
  [k: string]: unknown;
}

/** JSON lines from a child process, as they arrive. */
export function jsonLines(child: ChildProcess): ProbeEvent[] {
  const events: ProbeEvent[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as ProbeEvent);
    } catch {
      // Not ours (a library printing to stdout).
    }
  });
  return events;
}

export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
