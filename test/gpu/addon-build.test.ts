import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resetAddonForTests } from '../../src/infer/tensorrt/addon.js';
import { tensorRtAvailability } from '../../src/infer/tensorrt/availability.js';

/**
 * The addon must build and load on a machine without CUDA (CI). This builds it the way
 * scripts/setup.sh does, with CUDA switched off (INSPECTD_CUDA_HOME=none), in a copy of native/.
 * It needs node-gyp and Node's headers, which the GPU machine lacks (it builds with
 * native/build-without-gyp.sh instead), so it is skipped there, visibly.
 */
const root = resolve(__dirname, '../..');
const nodeRoot = dirname(dirname(realpathSync(process.execPath)));
const npmGyp = (() => {
  try {
    return join(dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())), '../node_modules/node-gyp/bin/node-gyp.js');
  } catch {
    return '';
  }
})();
const gyp = [join(root, 'node_modules/node-gyp/bin/node-gyp.js'), npmGyp].find((f) => f && existsSync(f));
const canBuild = gyp !== undefined && existsSync(join(nodeRoot, 'include/node/node_api.h'));
const tmp = mkdtempSync(join(tmpdir(), 'inspectd-cpu-build-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(canBuild)('the CPU-only addon build', () => {
  it('builds without CUDA, loads, and says it has no CUDA', () => {
    cpSync(join(root, 'native'), join(tmp, 'native'), { recursive: true, filter: (src) => !src.includes('/build') });
    const t0 = performance.now();
    execFileSync(process.execPath, [gyp!, 'rebuild', `--nodedir=${nodeRoot}`, '--loglevel=error'], {
      cwd: join(tmp, 'native'),
      env: { ...process.env, INSPECTD_CUDA_HOME: 'none', NODE_PATH: join(root, 'node_modules') },
      stdio: 'pipe',
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(seconds).toBeLessThan(60);
    const file = join(tmp, 'native/build/Release/inspectd_gpu.node');
    process.env.INSPECTD_GPU_ADDON = file;
    resetAddonForTests();
    try {
      const a = tensorRtAvailability();
      expect(a).toMatchObject({ ok: false, code: 'INSPECTD_CUDA', reason: expect.stringContaining('built without CUDA') });
    } finally {
      delete process.env.INSPECTD_GPU_ADDON;
      resetAddonForTests();
    }
  }, 120_000);
});
