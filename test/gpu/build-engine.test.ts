import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerPrecisions } from '../../src/infer/tensorrt/build-engine.js';
import { tensorRtAvailability } from '../../src/infer/tensorrt/availability.js';

const root = resolve(__dirname, '../..');

describe('inspectd build-engine', () => {
  it('refuses on a machine that cannot run TensorRT, with the reason, the fix and the code (exit 1)', () => {
    const expected = tensorRtAvailability();
    expect(expected.ok).toBe(false);
    const run = spawnSync(process.execPath, ['dist/src/cli/main.js', 'build-engine', '-m', 'models/synthetic-line/model.json'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(1);
    if (!expected.ok) {
      expect(run.stderr).toContain(`(${expected.code})`);
      expect(run.stderr).toContain(expected.fix);
    }
  });

  it("reads each layer's precision from TensorRT's engine-inspector JSON", () => {
    // The shape IEngineInspector::getEngineInformation(kJSON) prints at ProfilingVerbosity::kDETAILED.
    const json = JSON.stringify({
      Layers: [
        { Name: 'conv1 + relu', LayerType: 'CaskConvolution', Outputs: [{ Name: 't1', 'Format/Datatype': 'Int8 NC/32HW32' }] },
        { Name: 'head', Outputs: [{ Name: 'pred_score', 'Format/Datatype': 'Float Row major linear FP32' }] },
        'reformat_0',
      ],
    });
    expect(layerPrecisions(json)).toEqual([
      { name: 'conv1 + relu', precision: 'Int8' },
      { name: 'head', precision: 'Float' },
      { name: 'reformat_0', precision: '?' },
    ]);
    expect(layerPrecisions('not json')).toEqual([]);
  });
});
