import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/source/frame.js';
import { SyntheticCamera } from '../../src/source/synthetic/camera.js';
import { renderPart } from '../../src/source/synthetic/render.js';

describe('SyntheticCamera rendering on its own thread (the daemon default)', () => {
  it('emits exactly the part renderPart draws for each frameId, corrupt frames empty, then ends', async () => {
    const frames: Frame[] = [];
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const cam = new SyntheticCamera({ camera: 'w', fps: 50, count: 12, width: 96, height: 80, seed: 3, corruptEvery: 5, renderThread: 'worker', onEnd: () => ended() });
    await cam.start(
      (f) => frames.push(f),
      (e) => {
        throw e;
      },
    );
    await done;
    await cam.stop();
    expect(frames.map((f) => f.frameId)).toEqual([...Array(12).keys()]);
    for (const f of frames) {
      if ((f.frameId + 1) % 5 === 0) {
        expect(Boolean(f.image.empty)).toBe(true);
        continue;
      }
      const ref = renderPart({ width: 96, height: 80, channels: 1, defectRate: 0.3, seed: 3, index: f.frameId });
      expect(Buffer.from(f.image.getData()).equals(Buffer.from(ref.pixels))).toBe(true);
      expect(f.truth).toEqual(ref.truth);
    }
  });
});
