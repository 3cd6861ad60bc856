import { createRequire } from 'node:module';
import type * as CV from '@u4/opencv4nodejs';

/**
 * OpenCV, loaded once. @u4/opencv4nodejs is CommonJS and prints a banner unless told not to,
 * and a daemon's stdout is its log stream, so the banner is silenced before the first require.
 */
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
const require = createRequire(import.meta.url);

let loaded: typeof CV | undefined;

export function opencv(): typeof CV {
  if (loaded) return loaded;
  const origLog = console.log;
  console.log = () => {};
  try {
    const mod = require('@u4/opencv4nodejs') as typeof CV & { default?: typeof CV };
    loaded = (mod.default ?? mod) as typeof CV;
  } finally {
    console.log = origLog;
  }
  return loaded;
}

export type Mat = CV.Mat;
