import { errorMessage, type ErrorCode } from '../../errors.js';
import { loadAddon } from './addon.js';
import type { NativeDevice } from './native-types.js';

export type TensorRtAvailability =
  | { ok: true; device: NativeDevice; library: string; libraryVersion: string }
  | { ok: false; code: ErrorCode; reason: string; fix: string };

/** 100300 -> "10.3.0" (getInferLibVersion's format). */
export function tensorRtVersionString(v: number): string {
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

/**
 * Can this machine run the TensorRT backend, and if not, why and what to do. Checked in the order a
 * user would fix things: the addon, CUDA in the addon, a driver and a GPU, then TensorRT itself.
 * Never throws; the backend selector logs the reason when `auto` falls back to ONNX Runtime.
 */
export function tensorRtAvailability(opts: { device?: number } = {}): TensorRtAvailability {
  let addon;
  try {
    addon = loadAddon();
  } catch (err) {
    return { ok: false, code: 'INSPECTD_ADDON_LOAD', reason: errorMessage(err), fix: 'run scripts/setup.sh to build native/' };
  }
  const build = addon.buildInfo();
  if (!build.cuda || !addon.devices) {
    return {
      ok: false,
      code: 'INSPECTD_CUDA',
      reason: 'the GPU addon was built without CUDA (no CUDA toolkit was found at build time)',
      fix: 'install the CUDA toolkit (nvcc, /usr/local/cuda) and run scripts/setup.sh again',
    };
  }
  let devices: NativeDevice[];
  try {
    devices = addon.devices();
  } catch (err) {
    const why = errorMessage(err);
    const noDriver = /InsufficientDriver|NoDevice|driver/i.test(why);
    return {
      ok: false,
      code: 'INSPECTD_CUDA',
      reason: noDriver ? `no usable NVIDIA GPU or driver: ${why}` : why,
      fix: 'install the NVIDIA driver (on a Jetson: JetPack) and check that nvidia-smi (or tegrastats) sees the GPU',
    };
  }
  const device = devices[opts.device ?? 0];
  if (!device) {
    return { ok: false, code: 'INSPECTD_CUDA', reason: `GPU ${opts.device ?? 0} does not exist (${devices.length} found)`, fix: 'choose an existing GPU' };
  }
  const trt = addon.tensorRt();
  if (!trt.found) {
    const tried = trt.inferAttempts.map((a) => (a.error ? `${a.file}: ${a.error}` : a.file)).join('; ');
    const major = trt.headersMajor;
    return {
      ok: false,
      code: 'INSPECTD_TRT_NOT_FOUND',
      reason: `TensorRT is not usable: ${trt.reason ?? 'unknown'}${tried ? ` (tried ${tried})` : ''}`,
      fix:
        major === 0
          ? "install TensorRT with its headers (libnvinfer-dev and libnvonnxparsers-dev, or JetPack's) and run scripts/setup.sh again so the addon is built with TensorRT support"
          : `install TensorRT ${major} (libnvinfer${major} and libnvonnxparsers${major}; on a Jetson it comes with JetPack), or set INSPECTD_TENSORRT_LIB to its libnvinfer.so.${major}`,
    };
  }
  return { ok: true, device, library: trt.library ?? 'libnvinfer', libraryVersion: tensorRtVersionString(trt.libraryVersion) };
}
