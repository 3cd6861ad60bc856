import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PatchClassifierDecoder } from '../../../src/decode/patch-classifier.js';
import { loadModelSpec, parseModelSpec } from '../../../src/model/spec.js';
import { topologyCell } from '../../../src/inspect/template/topology.js';

/**
 * The topology cell on drawn 48×48 windows (copper dark, bare board bright), one per defect kind,
 * and what it does in the decoder: the shipped model's table turns a patch the network calls
 * "open" by a hair into a mousebite when the track is not cut, and leaves it an open when it is.
 */
const W = 48;
function board(tracks: Array<[number, number]>): Uint8Array {
  const px = new Uint8Array(W * W).fill(255);
  for (const [top, bottom] of tracks) for (let y = top; y <= bottom; y++) for (let x = 0; x < W; x++) px[y * W + x] = 0;
  return px;
}
function paint(px: Uint8Array, x0: number, y0: number, x1: number, y1: number, v: number): Uint8Array {
  const out = px.slice();
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out[y * W + x] = v;
  return out;
}

describe('topology cell of a blob window', () => {
  const track = board([[20, 27]]);
  it('open: a track cut through (one more copper piece, one fewer gap) is cell 6', () => {
    expect(topologyCell(paint(track, 22, 20, 25, 27, 255), track, W, W)).toBe(6);
  });
  it('mousebite: a notch in the edge changes no piece count: cell 4', () => {
    expect(topologyCell(paint(track, 20, 20, 26, 22, 255), track, W, W)).toBe(4);
  });
  it('short: two tracks bridged (one fewer copper piece, one more gap) is cell 2', () => {
    const two = board([[10, 15], [30, 35]]);
    expect(topologyCell(paint(two, 20, 16, 23, 29, 0), two, W, W)).toBe(2);
  });
  it('pin-hole: a hole inside copper is one more gap, cell 5; a copper speck on bare board one more piece, cell 7', () => {
    const wide = board([[10, 37]]);
    expect(topologyCell(paint(wide, 22, 22, 25, 25, 255), wide, W, W)).toBe(5);
    expect(topologyCell(paint(track, 5, 5, 8, 8, 0), track, W, W)).toBe(7);
  });
  it('the same window against itself is cell 4', () => {
    expect(topologyCell(track, track, W, W)).toBe(4);
  });
});

describe('patch-classifier decoder weighed by topology', () => {
  const spec = loadModelSpec(join(__dirname, '../../../models/deeppcb-template/model.json')).spec;
  // nuisance, open, short, mousebite, spur, copper, pin-hole: the network leans to open.
  const row = Float32Array.from([0.02, 0.5, 0.01, 0.44, 0.01, 0.01, 0.01]);
  const outputs = { probs: { type: 'float32' as const, dims: [1, 7], data: row } };
  const transform = { frameWidth: 640, frameHeight: 640, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
  const region = (topology?: number) => [{ box: [10, 10, 28, 28] as [number, number, number, number], areaPx: 40, ...(topology === undefined ? {} : { topology }) }];

  it('an uncut track (cell 4) makes it a mousebite, a cut one (cell 6) keeps it an open; probabilities still sum to 1', () => {
    const decoder = new PatchClassifierDecoder(spec);
    const notch = decoder.decode(outputs, transform, region(4)).candidates;
    expect(notch[0]!.label).toBe('mousebite');
    const cut = decoder.decode(outputs, transform, region(6)).candidates;
    expect(cut[0]!.label).toBe('open');
    expect(cut[0]!.score).toBeGreaterThan(0.5);
    expect(notch.reduce((a, c) => a + c.score, 0)).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('without a cell, or without the table, the network row is used as it is', () => {
    expect(new PatchClassifierDecoder(spec).decode(outputs, transform, region()).candidates[0]).toMatchObject({ label: 'open', score: 0.5 });
    const plain = parseModelSpec({ ...JSON.parse(JSON.stringify(spec)), decoder: { ...spec.decoder, topology: undefined } }, 'plain');
    expect(new PatchClassifierDecoder(plain).decode(outputs, transform, region(4)).candidates[0]!.label).toBe('open');
  });

  it('a table whose rows are not nuisance + labels is refused', () => {
    const raw = JSON.parse(JSON.stringify(spec));
    raw.decoder.topology.counts = raw.decoder.topology.counts.slice(1);
    expect(() => parseModelSpec(raw, 'short-table')).toThrow(/decoder\.topology\.counts: 6 rows, expected 7/);
  });
});
