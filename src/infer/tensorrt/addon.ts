import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { errorMessage, InspectdError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { NativeAddon } from './native-types.js';

/**
 * Loads native/build/Release/inspectd_gpu.node, sharp-style: when it cannot load, the error says
 * which file, why, and what to do, never a bare dlopen message. INSPECTD_GPU_ADDON points at
 * another build (tests use it to load a deliberately broken one).
 */
export function addonPath(): string {
  return process.env.INSPECTD_GPU_ADDON ?? join(packageRoot(), 'native', 'build', 'Release', 'inspectd_gpu.node');
}

let cached: { addon: NativeAddon } | { error: InspectdError } | undefined;

export function loadAddon(): NativeAddon {
  if (!cached) cached = tryLoad(addonPath());
  if ('error' in cached) throw cached.error;
  return cached.addon;
}

/** For tests: forget the cached result so the next loadAddon() tries again (e.g. with another path). */
export function resetAddonForTests(): void {
  cached = undefined;
}

const REBUILD = 'run scripts/setup.sh (it builds native/ with node-gyp; needs build-essential and python3, and the CUDA toolkit for the GPU parts)';

function tryLoad(file: string): { addon: NativeAddon } | { error: InspectdError } {
  if (!existsSync(file)) {
    return { error: new InspectdError('INSPECTD_ADDON_LOAD', `GPU addon ${file} is not built: ${REBUILD}`) };
  }
  try {
    return { addon: createRequire(import.meta.url)(file) as NativeAddon };
  } catch (err) {
    return { error: new InspectdError('INSPECTD_ADDON_LOAD', explainLoadFailure(file, errorMessage(err)), { cause: err }) };
  }
}

/** Turns dlopen's and Node's loader messages into what a plant engineer can act on. */
export function explainLoadFailure(file: string, why: string): string {
  const missingLib = /([\w.+-]+\.so(?:\.[\d.]+)?): cannot open shared object file/.exec(why);
  if (missingLib) {
    const lib = missingLib[1]!;
    const fix = /cuda|cublas|nvrtc/i.test(lib)
      ? 'install the CUDA runtime of the toolkit the addon was built with, or rebuild it on this machine (scripts/setup.sh)'
      : `install the package that provides ${lib}, or rebuild the addon on this machine (scripts/setup.sh)`;
    return `GPU addon ${file} cannot load: it needs ${lib}, which is not on this machine; ${fix}`;
  }
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(why)) {
    return `GPU addon ${file} was built for another Node.js version (this is ${process.version}): ${REBUILD}`;
  }
  if (/invalid ELF header|wrong ELF class|cannot open shared object file: No such file|file too short|Exec format error/.test(why)) {
    return `GPU addon ${file} is not a loadable library for this machine (${process.platform}-${process.arch}): ${REBUILD}. Loader said: ${why}`;
  }
  if (/undefined symbol/.test(why)) {
    return `GPU addon ${file} does not match the libraries on this machine (${why.trim()}): ${REBUILD}`;
  }
  return `GPU addon ${file} cannot load: ${why.trim()}. ${REBUILD}`;
}

/** Native errors carry a code from src/errors.ts; give them our class so callers can rely on it. */
export function fromNative(err: unknown): InspectdError {
  if (err instanceof InspectdError) return err;
  const code = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : '';
  const known = /^INSPECTD_[A-Z0-9_]+$/.test(code) ? (code as InspectdError['code']) : 'INSPECTD_INFER';
  return new InspectdError(known, errorMessage(err), { cause: err });
}
