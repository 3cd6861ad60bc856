import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openStationInspections, type StationInspections } from '../../src/inspect/station.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { defaultModelJson, repoRoot } from '../helpers/model.js';
import { recordingSink, silentLog as log, syntheticFrame, warmParts } from '../helpers/scheduler.js';
import { SlowBackend } from '../helpers/slow-backend.js';

/**
 * `inference.workers: 2` gives the model two ONNX Runtime sessions, and the scheduler uses both.
 * The pool is built from config as the daemon builds it (openStationInspections) and handed to a
 * scheduler as the daemon hands it; the test only slows each session down (110 ms a run on top of
 * the model's ~10–17 ms) so that one alone serves ~8 frames a second, and sends 12.
 */
const FPS = 12;
const DELAY_MS = 110;
const FRAMES = 36;
const DEADLINE_MS = 600;

let station: StationInspections | undefined;
afterAll(() => station?.close());

describe('inference.workers above 1', () => {
  it('opens two sessions and uses both: a line one session cannot keep up with is answered in time', async () => {
    const cfg = parseConfig(
      {
        model: { path: defaultModelJson, precision: 'int8' },
        inference: { workers: 2, threads: 1 },
        cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: FPS } }],
        mqtt: { url: 'mqtt://127.0.0.1:1' },
      },
      'test',
    );
    station = await openStationInspections(cfg, repoRoot, log);
    expect(station.models).toHaveLength(1);
    const pool = station.models[0]!.backends;
    expect(pool).toHaveLength(2);
    const workers = pool.map((b) => new SlowBackend(b, DELAY_MS));
    const { sink, given } = recordingSink();
    const scheduler = new Scheduler(workers, sink, { maxQueue: cfg.inference.maxQueue }, log);
    const inspection = station.cameras.get('cam1')!;
    warmParts();
    for (let i = 0; i < FRAMES; i++) {
      scheduler.submit(syntheticFrame(i), DEADLINE_MS, inspection);
      await new Promise((r) => setTimeout(r, 1000 / FPS));
    }
    expect(await scheduler.settled(5000)).toBe(true);

    const runs = workers.map((w) => w.runs);
    // Both served the line, each a fair share (one alone could not have kept up).
    for (const n of runs) expect(n, `runs per session: ${runs.join(', ')}`).toBeGreaterThanOrEqual(FRAMES * 0.25);
    expect(runs[0]! + runs[1]!).toBe(FRAMES);
    expect(given.filter((g) => g.decision.verdict !== 'PASS' && g.decision.verdict !== 'FAIL').map((g) => `${g.frame.frameId}: ${g.decision.verdict}`)).toEqual([]);
  }, 60_000);
});
