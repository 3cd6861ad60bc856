import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config, ModelRef } from '../config/schema.js';
import { ConfigError, TemplateReferenceError, type ConfigIssue } from '../errors.js';
import { loadModelSpec } from '../model/spec.js';
import { rulesFromSpec, unknownPerClassLabels, type VerdictRules } from '../verdict/rules.js';
import { cameraInspection, type CameraInspection } from './camera.js';
import { openModel, type OpenModel } from './model.js';
import { plausibilityRules } from './plausibility.js';
import { loadReferenceBook, type ReferenceBook } from './template/references.js';

/** Every camera's inspection for one station, with the models (backend pools) they share. */
export interface StationInspections {
  /** One per distinct model path + precision; cameras naming the same one share its pool. */
  readonly models: readonly OpenModel[];
  readonly cameras: ReadonlyMap<string, CameraInspection>;
  /** Each open model by its modelKey (what a reload compares against). */
  readonly byKey: ReadonlyMap<string, OpenModel>;
  close(): Promise<void>;
}

/**
 * Which open model a camera uses: its path (against baseDir, the config file's folder or the package
 * for the defaults), precision, and its files as they are on disk. Cameras with the same key share one
 * model; a reload that changes a camera's key loads a new one, so new files put under an unchanged
 * path (a retrained model copied over the old) are loaded and swapped in by a reload too.
 */
export function modelKey(ref: ModelRef, baseDir: string): string {
  const path = resolve(baseDir, ref.path);
  return `${path}#${ref.precision}#${modelFilesStamp(path)}`;
}

/**
 * Size and modification time of model.json and every ONNX file it names: cheap (a reload reads it,
 * frames never do), and any copy of new files changes it. Unreadable files are stamped as such;
 * opening the model then says what is wrong with them.
 */
function modelFilesStamp(specPath: string): string {
  const stamp = (file: string) => {
    try {
      const st = statSync(file);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };
  let files: string[] = [];
  try {
    const loaded = loadModelSpec(specPath);
    files = Object.values(loaded.spec.files).map((name) => resolve(loaded.dir, name));
  } catch {
    // An unreadable spec: its own stamp says so, and opening it reports why.
  }
  return [specPath, ...files].map(stamp).join('/');
}

/** The model a camera names: its own, or the station's. */
export function cameraModelRef(cfg: Config, camera: Config['cameras'][number]): ModelRef {
  return camera.model ?? cfg.model;
}

/**
 * One model opened as the config says (workers, backend, threads, batching) and self-tested; the same
 * at start and at reload. sharedBy: how many cameras will use it (batching sizes its batches by it).
 */
export async function openConfiguredModel(ref: ModelRef, cfg: Config, baseDir: string, log: Logger, sharedBy: number): Promise<OpenModel> {
  const model = await openModel(resolve(baseDir, ref.path), {
    precision: ref.precision,
    backend: cfg.inference.backend,
    workers: cfg.inference.workers,
    intraOpThreads: cfg.inference.threads,
    nice: cfg.inference.nice,
    ...(cfg.inference.cpus ? { cpus: cfg.inference.cpus } : {}),
    batch: cfg.inference.batch,
    sharedBy,
    log,
  });
  const batch = model.batch ? { maxBatch: model.batch.maxBatch, ...(model.batch.probe ? { batchProbe: model.batch.probe } : {}) } : {};
  // Each inference thread's priority and CPUs as set (or why not): inference.nice and inference.cpus.
  const threads = model.backends.map((b) => [b.info.threadPriority, b.info.threadCpus].filter(Boolean).join(', ')).filter(Boolean);
  log.info({ event: 'model.loaded', model: model.info, workers: model.batch?.batched.length || model.backends.length, ...(threads.length ? { threads } : {}), ...(model.probe ? { probe: model.probe } : {}), ...batch }, 'model loaded');
  return model;
}

/**
 * Opens each model once (workers, self-test), then builds each camera's inspection with its own
 * rules. Config mistakes against a model (per-class labels it lacks) fail before any worker loads.
 */
export async function openStationInspections(cfg: Config, baseDir: string, log: Logger): Promise<StationInspections> {
  const refs = new Map<string, ModelRef>();
  const cameraModel = new Map<string, string>();
  for (const cam of cfg.cameras) {
    const ref = cameraModelRef(cfg, cam);
    const key = modelKey(ref, baseDir);
    refs.set(key, ref);
    cameraModel.set(cam.name, key);
  }
  const rules = rulesForCameras(cfg, baseDir);
  const models = new Map<string, OpenModel>();
  try {
    for (const [key, ref] of refs) {
      models.set(key, await openConfiguredModel(ref, cfg, baseDir, log, [...cameraModel.values()].filter((k) => k === key).length));
    }
  } catch (err) {
    await Promise.all([...models.values()].map((m) => m.close()));
    throw err;
  }
  const cameras = new Map<string, CameraInspection>();
  const books: ReferenceBook[] = [];
  const closeModels = () => Promise.all([...models.values()].map((m) => m.close()));
  try {
    for (const [i, cam] of cfg.cameras.entries()) {
      const model = models.get(cameraModel.get(cam.name)!)!;
      const book = await referencesFor(cam, i, model, baseDir);
      if (book) books.push(book);
      cameras.set(cam.name, cameraInspection(cam.name, model, rules.get(cam.name)!, plausibilityRules(cam), book));
    }
  } catch (err) {
    for (const b of books) b.close();
    await closeModels();
    throw err;
  }
  return {
    models: [...models.values()],
    cameras,
    byKey: models,
    close: async () => {
      for (const b of books) b.close();
      await closeModels();
    },
  };
}

/** A golden-template model's references for one camera; a config that names none for such a model, or names them for another kind, is a config error. */
async function referencesFor(cam: Config['cameras'][number], i: number, model: OpenModel, baseDir: string): Promise<ReferenceBook | undefined> {
  const template = model.spec.template;
  if (!template && !cam.template) return undefined;
  if (!template) throw new ConfigError([{ path: `cameras[${i}].template`, message: `model ${model.spec.name} is not a golden-template model; leave template out` }], 'config');
  if (!cam.template) throw new ConfigError([{ path: `cameras[${i}].template`, message: `model ${model.spec.name} is a golden-template model: name its reference image or folder (template.path)` }], 'config');
  try {
    return await loadReferenceBook(resolve(baseDir, cam.template.path), template.registration, cam.template.recipe);
  } catch (err) {
    // A missing or unreadable reference is the config's mistake: exit 78 naming the field.
    if (err instanceof TemplateReferenceError) throw new ConfigError([{ path: `cameras[${i}].template.path`, message: err.message }], 'config');
    throw err;
  }
}

/** model.json's thresholds overridden by each camera's config; a perClass key the model lacks is a config error. */
export function rulesForCameras(cfg: Config, baseDir: string): Map<string, VerdictRules> {
  const issues: ConfigIssue[] = [];
  const rules = new Map<string, VerdictRules>();
  cfg.cameras.forEach((cam, i) => {
    const loaded = loadModelSpec(resolve(baseDir, (cam.model ?? cfg.model).path));
    const r = rulesFromSpec(loaded.spec, {
      threshold: cam.thresholds.default,
      perClass: cam.thresholds.perClass,
      minDefectAreaPx: cam.minDefectAreaPx,
      roi: cam.roi,
      ignore: cam.ignore,
    });
    for (const label of unknownPerClassLabels(r, loaded.spec.labels)) {
      if (label in cam.thresholds.perClass) {
        issues.push({ path: `cameras[${i}].thresholds.perClass.${label}`, message: `model ${loaded.spec.name} has no label "${label}" (labels: ${loaded.spec.labels.join(', ')})` });
      }
    }
    rules.set(cam.name, r);
  });
  if (issues.length > 0) throw new ConfigError(issues, 'config');
  return rules;
}
