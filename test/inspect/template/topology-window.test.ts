import { describe, expect, it } from 'vitest';
import { opencv, type Mat } from '../../../src/preprocess/opencv.js';
import { blobTopologyCell, topologyCell } from '../../../src/inspect/template/topology.js';

/**
 * A short wider than the 48 px patch: two copper tracks 80 px apart bridged by a bar. Over the
 * patch window only the bar's middle shows, a new copper piece (cell 8, the speck's); over the
 * blob's own box grown by 4 px the bar joins the two tracks (cell 2, the short's).
 */
const W = 100;
const H = 60;
function drawn(bridge: boolean): Mat {
  const cv = opencv();
  const m = new cv.Mat(H, W, cv.CV_8UC1, 255);
  m.drawRectangle(new cv.Rect(0, 0, 10, H), new cv.Vec3(0, 0, 0), -1);
  m.drawRectangle(new cv.Rect(90, 0, 10, H), new cv.Vec3(0, 0, 0), -1);
  if (bridge) m.drawRectangle(new cv.Rect(10, 25, 80, 10), new cv.Vec3(0, 0, 0), -1);
  return m;
}

describe('topology cell over the blob window (decoder.topology.window)', () => {
  it('calls a short wider than the patch a short, where the patch window calls it a speck', () => {
    const cv = opencv();
    const tested = drawn(true);
    const reference = drawn(false);
    const rect = new cv.Rect(26, 6, 48, 48);
    const patch = topologyCell(tested.getRegion(rect).copy().getData(), reference.getRegion(rect).copy().getData(), 48, 48);
    expect(patch).toBe(8);
    const box = [10, 25, 80, 10] as const;
    expect(blobTopologyCell(tested, reference, 0, box, 48, 48, { marginPx: 4, isolate: false })).toBe(2);
    expect(blobTopologyCell(tested, reference, 0, box, 48, 48, { marginPx: 4, isolate: true })).toBe(2);
    tested.release();
    reference.release();
  });
});
