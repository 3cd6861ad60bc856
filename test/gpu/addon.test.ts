import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPECS } from '../../bench/gpu/frames.js';
import { addonPath, loadAddon, resetAddonForTests } from '../../src/infer/tensorrt/addon.js';
import { tensorRtAvailability } from '../../src/infer/tensorrt/availability.js';
import { TensorRtBackend } from '../../src/infer/tensorrt/backend.js';
import { GpuFramePipeline } from '../../src/infer/tensorrt/frame-pipeline.js';
import { GPU } from './helpers.js';

/** These run everywhere (CI has no GPU); the GPU-machine run checks the stricter GPU branches. */
const tmp = mkdtempSync(join(tmpdir(), 'inspectd-addon-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function loadWith(file: string): unknown {
  const saved = process.env.INSPECTD_GPU_ADDON;
  process.env.INSPECTD_GPU_ADDON = file;
  resetAddonForTests();
  try {
    loadAddon();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    if (saved === undefined) delete process.env.INSPECTD_GPU_ADDON;
    else process.env.INSPECTD_GPU_ADDON = saved;
    resetAddonForTests();
  }
}

describe('the GPU addon', () => {
  it('builds and loads on this machine, saying what it was built with', () => {
    const info = loadAddon().buildInfo();
    expect(typeof info.cuda).toBe('boolean');
    expect(Number.isInteger(info.tensorRtHeadersMajor)).toBe(true);
    if (GPU) expect(info.cuda).toBe(true);
  });

  it('names the file and the fix when the addon is not built', () => {
    const err = loadWith(join(tmp, 'missing.node'));
    expect(err).toMatchObject({ code: 'INSPECTD_ADDON_LOAD' });
    expect(String((err as Error).message)).toContain(join(tmp, 'missing.node'));
    expect(String((err as Error).message)).toContain('scripts/setup.sh');
  });

  it('names the missing shared library when the addon needs one this machine lacks (real dlopen)', () => {
    // A real addon-shaped library linked against a library that is then removed.
    writeFileSync(join(tmp, 'dep.c'), 'int inspectd_dep(void) { return 1; }\n');
    writeFileSync(join(tmp, 'addon.c'), 'int inspectd_dep(void);\nint use(void) { return inspectd_dep(); }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(tmp, 'libinspectd_gone.so.1'), join(tmp, 'dep.c')]);
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(tmp, 'needs-gone.node'), join(tmp, 'addon.c'), join(tmp, 'libinspectd_gone.so.1')]);
    rmSync(join(tmp, 'libinspectd_gone.so.1'));
    const err = loadWith(join(tmp, 'needs-gone.node')) as Error;
    expect(err).toMatchObject({ code: 'INSPECTD_ADDON_LOAD' });
    expect(err.message).toMatch(/needs libinspectd_gone\.so\.1, which is not on this machine/);
    expect(err.message).toContain('install the package that provides libinspectd_gone.so.1');
  });

  it('says a file is not a loadable library rather than echoing dlopen', () => {
    writeFileSync(join(tmp, 'garbage.node'), 'not an ELF file\n');
    const err = loadWith(join(tmp, 'garbage.node')) as Error;
    expect(err).toMatchObject({ code: 'INSPECTD_ADDON_LOAD' });
    expect(err.message).toMatch(/is not a loadable library for this machine \(linux-x64\)/);
  });
});

describe('TensorRT missing', () => {
  it('the probe reports every file it tried and why each failed', () => {
    const probe = loadAddon().tensorRt();
    expect(probe.found).toBe(false);
    expect(probe.inferAttempts.length).toBeGreaterThan(0);
    for (const a of probe.inferAttempts) {
      expect(a.file).toMatch(/libnvinfer\.so\.1[01]/);
      expect(a.error).toMatch(/cannot open shared object file/);
    }
    expect(probe.reason).toBe('libnvinfer could not be opened');
  });

  it('INSPECTD_TENSORRT_LIB replaces the search and is named in the reason', () => {
    const script = `const a = require(${JSON.stringify(addonPath())}); console.log(JSON.stringify(a.tensorRt()))`;
    const run = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, INSPECTD_TENSORRT_LIB: '/opt/nowhere/libnvinfer.so.10' },
      encoding: 'utf8',
    });
    const probe = JSON.parse(run.stdout) as { inferAttempts: Array<{ file: string; error: string }> };
    expect(probe.inferAttempts).toEqual([{ file: '/opt/nowhere/libnvinfer.so.10', error: expect.stringContaining('/opt/nowhere/libnvinfer.so.10') }]);
  });

  it('availability says why TensorRT cannot run here and what to install', () => {
    const a = tensorRtAvailability();
    expect(a.ok).toBe(false);
    if (a.ok) return;
    // On the GPU machine CUDA works, so the missing library is the reason; on CI the GPU is missing first.
    if (GPU) expect(a.code).toBe('INSPECTD_TRT_NOT_FOUND');
    else expect(['INSPECTD_CUDA', 'INSPECTD_TRT_NOT_FOUND']).toContain(a.code);
    expect(a.reason.length).toBeGreaterThan(20);
    expect(a.fix).toMatch(/install/);
    if (a.code === 'INSPECTD_TRT_NOT_FOUND') expect(a.reason).toMatch(/libnvinfer\.so\.1[01]/);
  });

  it('backend: tensorrt fails at start with that code', async () => {
    const expected = tensorRtAvailability();
    await expect(
      TensorRtBackend.create({ onnxFile: 'models/synthetic-line/model.int8.onnx', enginePath: join(tmp, 'x.engine'), input: SPECS['synthetic-line']!, precision: 'int8' }),
    ).rejects.toMatchObject({ code: expected.ok ? 'none' : expected.code });
  });

  it.runIf(GPU)('a pipeline asked for an engine fails with INSPECTD_TRT_NOT_FOUND on a GPU without TensorRT', () => {
    expect(() =>
      GpuFramePipeline.open({ input: SPECS['synthetic-line']!, frame: { width: 640, height: 512, format: 'mono8' }, enginePath: join(tmp, 'x.engine') }),
    ).toThrow(expect.objectContaining({ code: 'INSPECTD_TRT_NOT_FOUND' }));
  });
});
