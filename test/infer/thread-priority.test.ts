import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';

const MODEL = 'models/synthetic-line/model.onnx';

/** Per thread of this process, from the kernel: nice (stat field 19) and CPU ticks (fields 14+15). */
function threads(): Map<string, { nice: number; ticks: number }> {
  const out = new Map<string, { nice: number; ticks: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
    out.set(tid, { nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/** The nice value of the thread that did the inference work: the one that gained the most CPU over 60 runs. */
async function niceOfTheWorkingThread(backend: OnnxRuntimeBackend): Promise<number> {
  const before = threads();
  for (let i = 0; i < 60; i++) {
    await backend.run({ input: { type: 'float32', dims: [1, 1, 256, 320], data: new Float32Array(256 * 320) } });
  }
  let best = { gain: -1, nice: Number.NaN };
  for (const [tid, t] of threads()) {
    const gain = t.ticks - (before.get(tid)?.ticks ?? 0);
    if (gain > best.gain) best = { gain, nice: t.nice };
  }
  return best.nice;
}

describe('inference thread priority (inference.nice)', () => {
  it('runs the inference on a thread at the nice value asked for, and says so; the main thread keeps its own', async () => {
    const backend = await OnnxRuntimeBackend.create({ file: MODEL, precision: 'fp32', intraOpThreads: 1, nice: 7 });
    try {
      expect(backend.info.threadPriority).toBe('nice 7');
      expect(await niceOfTheWorkingThread(backend)).toBe(7);
      expect(threads().get(String(process.pid))?.nice).toBe(0);
    } finally {
      await backend.close();
    }
  });

  it('leaves the priority as inherited when none is asked for', async () => {
    const backend = await OnnxRuntimeBackend.create({ file: MODEL, precision: 'fp32', intraOpThreads: 1 });
    try {
      expect(backend.info.threadPriority).toBeUndefined();
      expect(await niceOfTheWorkingThread(backend)).toBe(0);
    } finally {
      await backend.close();
    }
  });
});
