import { describe, expect, it } from 'vitest';
import { LineCounters, shiftStart } from '../../../src/outputs/operator-page/line-counters.js';
import type { VerdictKind, VerdictMessage } from '../../../src/verdict/types.js';

const at = (hhmm: string, day = 1) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(2026, 11, day, h, m, 0, 0).getTime();
};

let seq = 0;
function verdict(camera: string, v: VerdictKind, decidedAt: number, latencyMs = 10): VerdictMessage {
  return {
    schema: 1, seq: ++seq, station: 's', camera, frameId: seq, partId: null, verdict: v, score: v === 'TIMEOUT' ? null : 0.5, defects: [],
    capturedAt: decidedAt - latencyMs, decidedAt, latencyMs, deadlineMs: 30, model: { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' },
  };
}

describe('the operator page counters', () => {
  it('puts a moment in the shift that began at the latest shift start before it, across midnight', () => {
    const starts = ['06:00', '14:00', '22:00'];
    expect(shiftStart(at('06:00'), starts)).toBe(at('06:00'));
    expect(shiftStart(at('13:59'), starts)).toBe(at('06:00'));
    expect(shiftStart(at('23:30'), starts)).toBe(at('22:00'));
    expect(shiftStart(at('03:00', 2), starts)).toBe(at('22:00', 1));
  });

  it('counts the shift and the last hour from the log and then from each verdict, with yield', () => {
    const now = at('14:30');
    const c = new LineCounters([{ name: 'cam1', deadlineMs: 30 }], ['06:00', '14:00', '22:00'], now);
    expect(c.seedSince(now)).toBe(at('13:30'));
    const minute = (t: number) => Math.floor(t / 60_000);
    // 13:45 is the last hour but the previous shift; 14:10 both.
    c.seed([
      { camera: 'cam1', verdict: 'PASS', bucket: minute(at('13:45')), n: 5 },
      { camera: 'cam1', verdict: 'PASS', bucket: minute(at('14:10')), n: 6 },
      { camera: 'cam1', verdict: 'FAIL', bucket: minute(at('14:10')), n: 2 },
      { camera: 'other', verdict: 'FAIL', bucket: minute(at('14:10')), n: 99 },
    ]);
    c.observe(verdict('cam1', 'TIMEOUT', now - 1000, 30));
    c.observe(verdict('cam1', 'PASS', now - 500));
    const f = c.figures(now).cameras.cam1!;
    expect(f.shift).toEqual({ PASS: 7, FAIL: 2, TIMEOUT: 1, ERROR: 0 });
    expect(f.lastHour).toEqual({ PASS: 12, FAIL: 2, TIMEOUT: 1, ERROR: 0 });
    expect(f.shiftYieldPct).toBe(70);
    // Two verdicts in the last minute: 2/60 per second.
    expect(f.throughputPerS).toBe(0.03);
  });

  it('starts the counts of a new shift from zero and forgets the hour gone by', () => {
    const c = new LineCounters([{ name: 'cam1', deadlineMs: 30 }], ['06:00', '14:00', '22:00'], at('13:00'));
    c.observe(verdict('cam1', 'FAIL', at('13:00')));
    c.observe(verdict('cam1', 'PASS', at('14:01')));
    const f = c.figures(at('14:02'));
    expect(f.shiftStartedAt).toBe(at('14:00'));
    expect(f.cameras.cam1!.shift).toEqual({ PASS: 1, FAIL: 0, TIMEOUT: 0, ERROR: 0 });
    expect(c.figures(at('15:30')).cameras.cam1!.lastHour).toEqual({ PASS: 0, FAIL: 0, TIMEOUT: 0, ERROR: 0 });
  });

  it('bins latencies up to twice the deadline and counts TIMEOUTs and late answers as misses', () => {
    const c = new LineCounters([{ name: 'cam1', deadlineMs: 30 }], ['06:00'], at('07:00'));
    for (const ms of [1, 2, 29, 59, 500]) c.observe(verdict('cam1', 'PASS', at('07:00'), ms));
    c.observe(verdict('cam1', 'TIMEOUT', at('07:00'), 30));
    const h = c.figures(at('07:00')).cameras.cam1!.latency;
    expect(h.binMs).toBe(1.5);
    expect(h.counts).toHaveLength(40);
    // 59 and 500 ms are after the 30 ms deadline: misses, like the TIMEOUT, not bars.
    expect(h.misses).toBe(3);
    expect(h.counts[0]).toBe(1);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[19]).toBe(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h.frames).toBe(6);
  });
});
