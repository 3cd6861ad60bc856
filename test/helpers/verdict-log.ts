import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerdictRecorder, type RecorderOptions, type StorageState } from '../../src/record/recorder.js';
import { VerdictStore, type NewVerdict, type VerdictRow } from '../../src/record/store.js';

export const model = { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' };

export function verdict(frameId: number, station = 'st1'): NewVerdict {
  return {
    station,
    camera: 'cam1',
    frameId,
    partId: `p${frameId}`,
    decision: { verdict: frameId % 2 ? 'FAIL' : 'PASS', score: frameId / 100, defects: frameId % 2 ? [{ label: 'scratch', score: 0.9, box: [1, 2, 3, 4] }] : [] },
    capturedAt: 1_000 + frameId,
    decidedAt: 1_020 + frameId,
    deadlineMs: 30,
    model,
  };
}

export function tmpDb(prefix = 'inspectd-log-'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), 'sub', 'v.db');
}

/** A recorder whose events are collected for assertions. */
export async function openRecorder(path: string, opts: Partial<RecorderOptions> = {}) {
  const committed: number[] = [];
  const published: number[] = [];
  const states: StorageState[] = [];
  const rec = await VerdictRecorder.open(
    { path, synchronous: 'FULL', station: 'st1', ...opts },
    {
      committed: (v, p) => {
        committed.push(...v);
        published.push(...(p.mqtt ?? []));
      },
      storage: (s) => states.push(s),
    },
  );
  return { rec, committed, published, states };
}

/** Every row of the log, read back through a fresh read-only connection. */
export function readRows(path: string): VerdictRow[] {
  const store = new VerdictStore({ path, readonly: true });
  try {
    return store.list({});
  } finally {
    store.close();
  }
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Another process holding the database's write lock: Debian's sqlite3 shell in `BEGIN EXCLUSIVE`,
 * until release(). Resolves once the lock is taken.
 */
export async function holdWriteLock(path: string): Promise<{ release(): Promise<void>; child: ChildProcess }> {
  const child = spawn('sqlite3', [path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const spawned = new Promise<void>((res, rej) => {
    child.once('error', (err) => rej(new Error(`cannot run sqlite3 (scripts/setup.sh installs it): ${err.message}`)));
    child.once('spawn', () => res());
  });
  await spawned;
  // The SELECT answers only after BEGIN EXCLUSIVE has taken the write lock (in WAL mode, at once).
  child.stdin!.write(`PRAGMA busy_timeout = 10000;\nBEGIN EXCLUSIVE;\nSELECT 'lock-held';\n`);
  await waitFor('sqlite3 to hold the lock', () => out.includes('lock-held') || /Error/.test(out), 15_000);
  if (!out.includes('lock-held')) throw new Error(`sqlite3 could not take the lock: ${out}`);
  return {
    child,
    release: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      child.stdin!.write('COMMIT;\n.quit\n');
      child.stdin!.end();
      await exited;
    },
  };
}
