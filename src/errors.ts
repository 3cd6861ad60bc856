/**
 * One catalogue of every error inspectd raises on purpose. Codes are stable: tests, logs,
 * MQTT ERROR verdicts and the CLI's exit status all key on them, so never rename one.
 */
export type ErrorCode =
  | 'INSPECTD_CONFIG_INVALID'
  | 'INSPECTD_CONFIG_READ'
  | 'INSPECTD_MODEL_SPEC_INVALID'
  | 'INSPECTD_MODEL_LOAD'
  | 'INSPECTD_MODEL_IMPORT'
  | 'INSPECTD_MODEL_OUTPUT_RANGE'
  | 'INSPECTD_FRAME_INVALID'
  | 'INSPECTD_FRAME_IMPLAUSIBLE'
  | 'INSPECTD_IMAGE_READ'
  | 'INSPECTD_PREPROCESS'
  | 'INSPECTD_INFER'
  | 'INSPECTD_DECODE'
  | 'INSPECTD_BACKEND_UNAVAILABLE'
  | 'INSPECTD_BACKEND_CLOSED'
  | 'INSPECTD_SOURCE'
  | 'INSPECTD_BROKER'
  | 'INSPECTD_STORE'
  | 'INSPECTD_STOPPING'
  /** A step of a clean stop did not end within its bound (src/ops/stop-steps.ts): logged, the stop goes on, exit 70. */
  | 'INSPECTD_STOP_HUNG'
  /** A step of a clean stop threw: logged, the stop goes on. */
  | 'INSPECTD_STOP_FAILED'
  | 'INSPECTD_TRIGGER_INVALID'
  | 'INSPECTD_TRIGGER_UNKNOWN_CAMERA'
  | 'INSPECTD_TRIGGER_DUPLICATE'
  | 'INSPECTD_TRIGGER_PAUSED'
  /** Another inspectd holds the verdict log's lock: one daemon per log. */
  | 'INSPECTD_LOG_IN_USE'
  /** The database file is not an inspectd verdict log (other tables, or not SQLite): left untouched. */
  | 'INSPECTD_STORE_FOREIGN'
  /** The verdict log was written by a newer inspectd (schema version above ours): left untouched. */
  | 'INSPECTD_STORE_VERSION'
  /** Storage faults while running, reported in the recorder's storage state (the line goes on). */
  | 'INSPECTD_STORE_FULL'
  | 'INSPECTD_STORE_BUSY'
  | 'INSPECTD_STORE_IO'
  | 'INSPECTD_USAGE'
  /** The metrics and health server could not listen (logged; the line keeps running). */
  | 'INSPECTD_HTTP'
  /** The OPC UA server could not start (port taken, PKI not writable) or its thread died (logged; the line keeps running without it). */
  | 'INSPECTD_OPCUA'
  /** A state-changing command without a token (HTTP 401, MQTT reply). */
  | 'INSPECTD_AUTH_REQUIRED'
  /** A state-changing command whose token is wrong (HTTP 403, MQTT reply). */
  | 'INSPECTD_AUTH_DENIED'
  /** No token is configured (http.tokenFile, INSPECTD_HTTP_TOKEN), so state-changing commands are off. */
  | 'INSPECTD_AUTH_NOT_CONFIGURED'
  /** A command on `{prefix}/{station}/cmd` that is not JSON, lacks a field, or names no known command. */
  | 'INSPECTD_COMMAND_INVALID'
  /** A reloaded config was invalid or changed settings that need a restart; the old one stays. */
  | 'INSPECTD_RELOAD_REFUSED'
  // The GPU path (native/, src/infer/tensorrt/): see docs/gpu.md for each one's fix.
  | 'INSPECTD_ADDON_LOAD'
  | 'INSPECTD_CUDA'
  | 'INSPECTD_CUDA_OOM'
  | 'INSPECTD_TRT_NOT_FOUND'
  | 'INSPECTD_ENGINE_INCOMPATIBLE'
  | 'INSPECTD_ENGINE_BUILD'
  // Golden-template inspection (src/inspect/template/, docs/template-inspection.md).
  /** The frame does not line up with its reference (too few matching features, shifted or turned too far): ERROR, never judged. */
  | 'INSPECTD_TEMPLATE_UNREGISTERED'
  /** No usable reference image for the frame's recipe (missing, unreadable, too little structure to register against). */
  | 'INSPECTD_TEMPLATE_REFERENCE';

export class InspectdError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem in a config file, located by its field path (`cameras[0].fps`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends InspectdError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source: string) {
    super(
      'INSPECTD_CONFIG_INVALID',
      `invalid config ${source}:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
    );
    this.issues = issues;
  }
}

export class ModelSpecError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_MODEL_SPEC_INVALID', message, options);
  }
}

export class ModelLoadError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_MODEL_LOAD', message, options);
  }
}

/** An ONNX export `inspectd import` cannot describe as a model.json (the message says what is missing). */
export class ModelImportError extends InspectdError {
  constructor(message: string) {
    super('INSPECTD_MODEL_IMPORT', message);
  }
}

/** A model produced numbers outside the range its model.json promises (e.g. a broken INT8 export). */
export class ModelOutputRangeError extends InspectdError {
  constructor(message: string) {
    super('INSPECTD_MODEL_OUTPUT_RANGE', message);
  }
}

export class FrameError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_FRAME_INVALID', message, options);
  }
}

/**
 * A frame the pipeline could use but that cannot be a capture of a part: too small, the wrong size
 * or channel count for its camera, or so uniform (capped lens, dead sensor, blown exposure) that a
 * model would call it PASS.
 */
export class FrameImplausibleError extends InspectdError {
  constructor(message: string) {
    super('INSPECTD_FRAME_IMPLAUSIBLE', message);
  }
}

/** An image file that cannot be read, or whose bytes show it is cut short or damaged (`reason`). */
export class ImageReadError extends InspectdError {
  constructor(file: string, options?: { cause?: unknown; reason?: string }) {
    super('INSPECTD_IMAGE_READ', `cannot read image ${file}${options?.reason ? `: ${options.reason}` : ''}`, options);
  }
}

export class InferError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_INFER', message, options);
  }
}

export class DecodeError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_DECODE', message, options);
  }
}

/** A frame that cannot be registered to its reference; `quality` is the fit's figure when one was made. */
export class TemplateRegistrationError extends InspectdError {
  readonly quality?: { matches: number; inliers: number; inlierRatio: number; residualPx: number };
  constructor(message: string, quality?: TemplateRegistrationError['quality']) {
    super('INSPECTD_TEMPLATE_UNREGISTERED', message);
    if (quality) this.quality = quality;
  }
}

export class TemplateReferenceError extends InspectdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSPECTD_TEMPLATE_REFERENCE', message, options);
  }
}

export class UsageError extends InspectdError {
  constructor(message: string) {
    super('INSPECTD_USAGE', message);
  }
}

/** The code of any error, ours or not, for logs and ERROR verdicts. */
export function errorCode(err: unknown): string {
  if (err instanceof InspectdError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return 'INSPECTD_INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
