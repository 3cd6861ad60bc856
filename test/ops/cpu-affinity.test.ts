import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { parseCpuList } from '../../src/ops/cpu-affinity.js';
import { DaemonProcess, until } from '../helpers/daemon.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';
import { freePort } from '../helpers/mosquitto.js';

const MODEL = 'models/synthetic-line/model.onnx';

/** Per thread of process pid, from the kernel: the CPUs it may run on and its CPU ticks so far. */
function threads(pid: number | 'self'): Map<string, { cpus: number[]; ticks: number }> {
  const out = new Map<string, { cpus: number[]; ticks: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { cpus: parseCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(status)![1]!), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The thread of pid that gained the most CPU while `work` ran: the one doing the inference. */
async function busiest(pid: number | 'self', work: () => Promise<void>): Promise<{ tid: string; cpus: number[]; gain: number }> {
  const before = threads(pid);
  await work();
  let best = { tid: '', cpus: [] as number[], gain: -1 };
  for (const [tid, t] of threads(pid)) {
    const gain = t.ticks - (before.get(tid)?.ticks ?? 0);
    if (gain > best.gain) best = { tid, cpus: t.cpus, gain };
  }
  return best;
}

const usable = threads('self').get(String(process.pid))!.cpus;
/** The CPU set apart for inference in these tests: the last one; the rest keep the others. */
const inferenceCpu = usable.at(-1)!;
const rest = usable.filter((c) => c !== inferenceCpu);

function checkConfig(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-cpus-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, yaml);
  return spawnSync(process.execPath, [cliPath, 'check-config', file, '--no-model'], { encoding: 'utf8', timeout: 60_000 });
}

describe('inference.cpus', () => {
  it('refuses a bad CPU list with exit 78, naming the field', () => {
    for (const bad of ['[]', '[-1]', '[0, 0]', '[4095]', '"1"']) {
      const r = checkConfig(`model: { path: ${defaultModelJson} }\ninference: { cpus: ${bad} }\n`);
      expect(r.status, `cpus: ${bad}: ${r.stderr}`).toBe(78);
      expect(r.stderr, `cpus: ${bad}`).toContain('inference.cpus');
    }
    const good = checkConfig(`model: { path: ${defaultModelJson} }\ninference: { cpus: [${inferenceCpu}] }\n`);
    expect(good.status, good.stderr).toBe(0);
  });

  it('runs the inference on a thread pinned to the CPUs asked for, read back from /proc; the main thread keeps its own', async () => {
    const backend = await OnnxRuntimeBackend.create({ file: MODEL, precision: 'fp32', intraOpThreads: 1, cpus: [inferenceCpu] });
    try {
      expect(backend.info.threadCpus).toBe(`cpus ${inferenceCpu}`);
      const worker = await busiest('self', async () => {
        for (let i = 0; i < 60; i++) await backend.run({ input: { type: 'float32', dims: [1, 1, 256, 320], data: new Float32Array(256 * 320) } });
      });
      expect(worker.tid).not.toBe(String(process.pid));
      expect(worker.cpus).toEqual([inferenceCpu]);
      expect(threads('self').get(String(process.pid))!.cpus).toEqual(usable);
    } finally {
      await backend.close();
    }
  });

  const daemons: DaemonProcess[] = [];
  afterAll(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
  });

  // One CPU cannot be split: there is nothing to keep the rest of the daemon on.
  it.skipIf(rest.length === 0)('keeps every other thread of the daemon, and its broker, off those CPUs', async () => {
    const port = await freePort();
    // Parts drawn once and cycled: the camera's renderer is then not the busiest thread, the model is.
    const cameras = [{ name: 'cam1', source: { type: 'synthetic', fps: 20, distinctParts: 4 } }];
    const daemon = DaemonProcess.start({ model: { path: defaultModelJson }, inference: { cpus: [inferenceCpu] }, cameras, mqtt: { embeddedBroker: { port } }, http: { enabled: false } });
    daemons.push(daemon);
    await until('the daemon runs', () => daemon.stdout.includes('"event":"daemon.running"') || daemon.child.exitCode !== null, 60_000);
    expect(daemon.child.exitCode, daemon.stderr + daemon.stdout.slice(-2000)).toBeNull();
    const pid = daemon.child.pid!;
    expect(daemon.stdout).toContain(`"rest":"cpus ${rest.join(',')}"`);
    expect(daemon.stdout).toMatch(new RegExp(`"threads":\\["[^"]*cpus ${inferenceCpu}"\\]`));

    // The synthetic camera's frames keep the model busy: the thread doing the work is the pinned one.
    const worker = await busiest(pid, () => new Promise((r) => setTimeout(r, 3000)));
    expect(worker.cpus).toEqual([inferenceCpu]);
    const all = threads(pid);
    const pinned = [...all].filter(([, t]) => t.cpus.includes(inferenceCpu)).map(([tid]) => tid);
    // The worker and what it made after pinning itself (ONNX Runtime's threads); every other thread on the rest.
    expect(pinned).toContain(worker.tid);
    for (const [tid, t] of all) if (!pinned.includes(tid)) expect(t.cpus, `thread ${tid}`).toEqual(rest);
    expect(pinned.length).toBeLessThan(all.size / 2);
    expect(all.get(String(pid))!.cpus).toEqual(rest);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    expect(children.length).toBeGreaterThan(0); // the embedded mosquitto
    for (const child of children) {
      for (const [, t] of threads(Number(child))) expect(t.cpus).toEqual(rest);
    }
    // A reload checks the config again on the main thread, which no longer runs on inference.cpus:
    // the CPUs must still count as the process's own (an unchanged config is accepted).
    process.kill(pid, 'SIGHUP');
    await until('the reload answered', () => /"event":"config\.(reloaded|reload_refused)"/.test(daemon.stdout), 30_000);
    expect(daemon.stdout).not.toContain('"event":"config.reload_refused"');
    expect(await daemon.stop()).toBe(0);
  }, 90_000);
});
