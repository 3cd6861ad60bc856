/**
 * Timing check for the synthetic line camera's renderer (not a test: numbers depend on the box).
 * The daemon renders at up to ~60 fps on the event loop, so a frame must cost a few ms at most.
 *
 *   npm run build && node dist/bench/synth.js [frames=500] [width=640] [height=512] [channels=1]
 */
import { encodePng } from '../src/source/synthetic/encode.js';
import { renderPart } from '../src/source/synthetic/render.js';

const [frames = 500, width = 640, height = 512, channels = 1] = process.argv.slice(2).map(Number);
const ch = channels === 3 ? 3 : 1;
const buf = new Uint8Array(width * height * ch);
const params = { width, height, channels: ch, defectRate: 0.3, seed: 1 } as const;

// The first frame bakes the per-seed texture bank; time it apart from the steady state.
let t = performance.now();
renderPart({ ...params, index: 0 }, buf);
const firstMs = performance.now() - t;

for (let i = 1; i < 50; i++) renderPart({ ...params, index: i }, buf); // let the JIT settle

t = performance.now();
for (let i = 0; i < frames; i++) renderPart({ ...params, index: 1000 + i }, buf);
const renderMs = (performance.now() - t) / frames;

const pngFrames = Math.min(frames, 100);
t = performance.now();
for (let i = 0; i < pngFrames; i++) encodePng(renderPart({ ...params, index: 5000 + i }, buf));
const pngMs = (performance.now() - t) / pngFrames;

console.log(
  `synthetic ${width}x${height}x${ch}: render ${renderMs.toFixed(2)} ms/frame over ${frames} frames ` +
    `(first frame incl. texture bake ${firstMs.toFixed(0)} ms); render+PNG ${pngMs.toFixed(2)} ms/frame`,
);
