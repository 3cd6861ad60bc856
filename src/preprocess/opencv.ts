import { createRequire } from 'node:module';
import type * as CV from '@u4/opencv4nodejs';

/**
 * OpenCV, loaded once. @u4/opencv4nodejs logs its package.json lookup to stdout through
 * @u4/opencv-build's logger at require time, and a daemon's stdout is its log stream (and
 * `inspectd infer` prints JSON lines there), so that logger is silenced before the first require.
 */
const require = createRequire(import.meta.url);

/*
 * opencv4nodejs reports every Mat's pixels to V8 as external memory by default. At 30 fps that
 * pressure alone made V8 run a full Mark-Compact about 2.4 times a second, each stopping the main
 * thread (deadline timers included) for 20-33 ms (measured: node --trace-gc dist/bench/pipeline.js).
 * The pipeline frees its Mats itself (release() in preprocess and after each frame), so the
 * tracking only costs; it is read once when the addon loads, hence set before the require.
 */
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
// OpenCV's own warnings (e.g. every backend it tried while a camera is unplugged) would go to stderr
// on every retry; inspectd reports camera trouble itself, once per attempt, in its log.
process.env.OPENCV_LOG_LEVEL ??= 'ERROR';

let loaded: typeof CV | undefined;

export function opencv(): typeof CV {
  if (loaded) return loaded;
  (require('@u4/opencv-build') as { Log: { silence: boolean } }).Log.silence = true;
  const mod = require('@u4/opencv4nodejs') as typeof CV & { default?: typeof CV };
  loaded = (mod.default ?? mod) as typeof CV;
  return loaded;
}

export type Mat = CV.Mat;
