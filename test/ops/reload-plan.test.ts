import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload.js';
import { PipelineHeartbeat } from '../../src/ops/heartbeat.js';

const cam = (over: Record<string, unknown> = {}) => ({ name: 'cam1', source: { type: 'synthetic', fps: 10 }, ...over });
const cfg = (over: Record<string, unknown> = {}) => parseConfig({ cameras: [cam()], ...over }, 'test');

describe('reload plan', () => {
  it('finds nothing to do in an unchanged config', () => {
    expect(planReload(cfg(), cfg())).toEqual({ changed: [], live: [], restart: [], cameras: { added: [], removed: [], restarted: [] } });
  });

  it('applies rules, deadlines, log level and drain time live', () => {
    const next = cfg({
      deadlineMs: 40,
      cameras: [cam({ deadlineMs: 60, thresholds: { default: 0.4, perClass: { scratch: 0.2 } }, minDefectAreaPx: 9, roi: [0, 0, 10, 10], ignore: [[1, 1, 2, 2]] })],
      log: { level: 'debug' },
      shutdown: { drainMs: 100 },
    });
    const plan = planReload(cfg(), next);
    expect(plan.restart).toEqual([]);
    expect(plan.live.sort()).toEqual(
      [
        'deadlineMs',
        'cameras[0].deadlineMs',
        'cameras[0].thresholds.default',
        'cameras[0].thresholds.perClass.scratch',
        'cameras[0].minDefectAreaPx',
        'cameras[0].roi',
        'cameras[0].ignore',
        'log.level',
        'shutdown.drainMs',
      ].sort(),
    );
  });

  it('names every field that needs a restart: inference, broker, storage, station, http, log format', () => {
    const plan = planReload(
      cfg(),
      cfg({
        inference: { workers: 3 },
        mqtt: { url: 'mqtt://plant:1883' },
        storage: { path: '/var/lib/inspectd/x.db' },
        station: 'line-9',
        http: { port: 9100 },
        log: { format: 'pretty' },
      }),
    );
    expect(plan.live).toEqual([]);
    expect(plan.restart.sort()).toEqual(['http.port', 'inference.workers', 'log.format', 'mqtt.url', 'station', 'storage.path'].sort());
  });

  it('matches cameras by name: added, removed and re-sourced ones start and stop live, and a model change swaps', () => {
    const current = cfg({ cameras: [cam(), cam({ name: 'cam2' })] });
    const next = cfg({
      cameras: [cam({ name: 'cam3' }), cam({ source: { type: 'synthetic', fps: 20 }, partId: 'frame' })],
      model: { path: 'models/magnetic-tile/model.json' },
    });
    const plan = planReload(current, next);
    expect(plan.restart).toEqual([]);
    expect(plan.cameras).toEqual({ added: ['cam3'], removed: ['cam2'], restarted: ['cam1'] });
    expect(plan.live.sort()).toEqual(['model.path', 'cameras[0]', 'cameras[1].source.fps', 'cameras[1].partId', 'cameras[name=cam2]'].sort());
    // Order alone is no change: cameras are matched by name, not position.
    const swapped = planReload(current, cfg({ cameras: [cam({ name: 'cam2' }), cam()] }));
    expect(swapped.changed).toEqual([]);
    // A camera's own model is swapped, not restarted.
    const own = planReload(current, cfg({ cameras: [cam({ model: { path: 'models/magnetic-tile/model.json' } }), cam({ name: 'cam2' })] }));
    expect(own.cameras).toEqual({ added: [], removed: [], restarted: [] });
    expect(own.live.length).toBeGreaterThan(0);
    expect(own.restart).toEqual([]);
  });

  it('adds, removes and restarts a PLC-triggered camera live, like any camera (it joins the trigger desk as it starts)', () => {
    const trig = (over: Record<string, unknown> = {}) => cam({ name: 'plc', trigger: 'mqtt', ...over });
    const added = planReload(cfg(), cfg({ cameras: [cam(), trig()] }));
    expect(added.restart).toEqual([]);
    expect(added.cameras.added).toEqual(['plc']);
    const removed = planReload(cfg({ cameras: [cam(), trig()] }), cfg());
    expect(removed.restart).toEqual([]);
    expect(removed.cameras.removed).toEqual(['plc']);
    const resourced = planReload(cfg({ cameras: [trig()] }), cfg({ cameras: [trig({ source: { type: 'synthetic', fps: 20 } })] }));
    expect(resourced.restart).toEqual([]);
    expect(resourced.cameras.restarted).toEqual(['plc']);
  });
});

describe('reload plan for PLC-triggered cameras', () => {
  it('applies their deadline live (read per trigger) and their rules, without restarting them', () => {
    const trig = (over: Record<string, unknown> = {}) => cam({ trigger: 'mqtt', ...over });
    const station = planReload(cfg({ cameras: [trig()] }), cfg({ cameras: [trig()], deadlineMs: 40 }));
    expect(station.live).toEqual(['deadlineMs']);
    expect(station.cameras.restarted).toEqual([]);
    const own = planReload(cfg({ cameras: [trig({ deadlineMs: 50 })] }), cfg({ cameras: [trig({ deadlineMs: 60 })] }));
    expect(own.live).toEqual(['cameras[0].deadlineMs']);
    expect(own.cameras.restarted).toEqual([]);
    expect(planReload(cfg({ cameras: [trig()] }), cfg({ cameras: [trig({ minDefectAreaPx: 5 })] })).live).toEqual(['cameras[0].minDefectAreaPx']);
  });
});

describe('pipeline heartbeat', () => {
  it('is stalled only when a frame has waited stallMs with no frame answered since', () => {
    let now = 0;
    const hb = new PipelineHeartbeat(1000, () => now);
    expect(hb.stalled()).toBe(false); // idle line: nothing waits
    hb.frameIn();
    now = 900;
    hb.frameIn();
    expect(hb.stalled()).toBe(false);
    now = 1001;
    expect(hb.stalled()).toBe(true); // the first frame has waited 1001 ms, nothing answered
    hb.answered();
    expect(hb.stalled()).toBe(false);
    now = 5000;
    expect(hb.stalled()).toBe(false); // answered, then idle: not stalled however long
    hb.frameIn();
    now = 5500;
    hb.answered();
    hb.frameIn();
    now = 6400;
    expect(hb.stalled()).toBe(false); // overload that still answers keeps it alive
    expect(hb.waitingMs()).toBe(900);
  });
});
