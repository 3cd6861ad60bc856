import { createRequire } from 'node:module';
import type * as CV from '@u4/opencv4nodejs';

/**
 * OpenCV, loaded once. @u4/opencv4nodejs logs its package.json lookup to stdout through
 * @u4/opencv-build's logger at require time, and a daemon's stdout is its log stream (and
 * `inspectd infer` prints JSON lines there), so that logger is silenced before the first require.
 */
const require = createRequire(import.meta.url);

let loaded: typeof CV | undefined;

export function opencv(): typeof CV {
  if (loaded) return loaded;
  (require('@u4/opencv-build') as { Log: { silence: boolean } }).Log.silence = true;
  const mod = require('@u4/opencv4nodejs') as typeof CV & { default?: typeof CV };
  loaded = (mod.default ?? mod) as typeof CV;
  return loaded;
}

export type Mat = CV.Mat;
