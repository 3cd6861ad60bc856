import type { Logger } from 'pino';
import type { AppliedChanges, ReloadPlan } from '../config/reload.js';
import { isTriggeredCamera, type CameraConfig, type Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { setLogLevel } from '../log.js';
import type { Telemetry } from '../ops/telemetry.js';
import { createSource } from '../source/create.js';
import type { FrameSource } from '../source/frame.js';
import type { TriggerDesk } from '../source/trigger.js';
import { cameraInspection, type CameraInspection } from './camera.js';
import type { LineCameras } from './line-cameras.js';
import type { OpenModel } from './model.js';
import type { ModelsInUse } from './models-in-use.js';
import { plausibilityRules } from './plausibility.js';
import { rulesForCameras } from './station.js';

/** What a reload changes on a running line: its cameras and the models they use, and what reports on them. */
export interface RunningLine {
  cameras: LineCameras;
  modelsInUse: ModelsInUse;
  telemetry: Telemetry;
  /** Model and reference paths in config are resolved against this folder. */
  baseDir: string;
  log: Logger;
  /** The station's trigger desk: a PLC-triggered camera started by the reload joins it. */
  triggers: TriggerDesk | undefined;
  /** Publishes a retained station topic (a removed camera's status). */
  retain(topic: string, payload: unknown): void;
}

/**
 * Applies a reload's changes to a running line. Everything that can fail comes first and changes
 * nothing: the rules, new models (loaded and self-tested beside the old ones, which keep answering),
 * new sources. Then, synchronously between two frames, the new rules, deadlines and models are
 * swapped in (and `adopt` makes `next` the daemon's config), so each frame is judged wholly by the
 * old config or wholly by the new one, and every verdict's `model` is the one that answered it.
 * Then cameras removed or re-sourced stop (what they already took still gets its verdicts), new
 * ones start, and models no camera uses any more are closed once their frames settle.
 */
export async function applyLiveChanges(line: RunningLine, next: Config, plan: ReloadPlan, adopt: () => void): Promise<AppliedChanges> {
  const { cameras, modelsInUse, log } = line;
  const rules = rulesForCameras(next, line.baseDir); // throws ConfigError, having changed nothing
  // A golden-template camera's references are loaded with its inspection at start only (not yet at reload).
  const remade = next.cameras
    .map((cam, i) => ({ cam, i }))
    .filter(({ cam }) => cam.template !== undefined && (plan.cameras.added.includes(cam.name) || plan.cameras.restarted.includes(cam.name) || cameras.inspectionOf(cam.name)?.model !== modelsInUse.modelOf(next, cam)));
  if (remade.length > 0) throw new ConfigError(remade.map(({ i }) => ({ path: `cameras[${i}]`, message: 'a golden-template camera added, re-sourced or given another model needs a restart (systemctl restart inspectd)' })), 'config');
  const loaded = await modelsInUse.openMissing(next, log.child({ component: 'model' }));
  const startNow = new Set([...plan.cameras.added, ...plan.cameras.restarted]);
  const sources = new Map(next.cameras.filter((c) => startNow.has(c.name)).map((c) => [c.name, createSource(c, log.child({ component: 'camera', camera: c.name }))]));

  // The swap: synchronous, between two frames.
  const modelOf = (cam: CameraConfig) => modelsInUse.modelOf(next, cam)!;
  const inspectionFor = (cam: CameraConfig) => cameraInspection(cam.name, modelOf(cam), rules.get(cam.name)!, plausibilityRules(cam));
  for (const cam of next.cameras) {
    const running = cameras.inspectionOf(cam.name);
    if (!running || startNow.has(cam.name)) continue;
    if (running.model === modelOf(cam)) {
      running.rules = rules.get(cam.name)!;
      continue;
    }
    cameras.swap(cam.name, inspectionFor(cam));
    log.info({ event: 'model.swapped', camera: cam.name, from: running.modelInfo, to: modelOf(cam).info }, 'model swapped');
  }
  if (plan.live.includes('log.level')) setLogLevel(log, next.log.level);
  adopt();

  await changeCameras(line, plan, (name) => {
    const cam = next.cameras.find((c) => c.name === name)!;
    return { cam, source: sources.get(name)!, inspection: inspectionFor(cam) };
  });
  const retired = await modelsInUse.retireUnused(cameras.models(), next.shutdown.drainMs, log.child({ component: 'model' }));
  return { cameras: plan.cameras, models: { loaded: loaded.map(modelName), retired: retired.map(modelName) } };
}

/** Cameras removed or restarted stop first (a restarted one may need its device back), then new ones start. */
async function changeCameras(line: RunningLine, plan: ReloadPlan, startWith: (name: string) => { cam: CameraConfig; source: FrameSource; inspection: CameraInspection }): Promise<void> {
  for (const name of [...plan.cameras.removed, ...plan.cameras.restarted]) await line.cameras.stop(name);
  for (const name of plan.cameras.removed) {
    line.telemetry.forgetCamera(name);
    line.retain(`camera/${name}/status`, { camera: name, state: 'removed', reason: 'removed by a config reload', since: Date.now() });
    line.log.info({ event: 'camera.removed', camera: name }, 'camera removed');
  }
  for (const name of [...plan.cameras.added, ...plan.cameras.restarted]) {
    const { cam, source, inspection } = startWith(name);
    line.telemetry.declareCamera(name);
    await line.cameras.start(cam, source, inspection, isTriggeredCamera(cam) ? line.triggers : undefined);
  }
}

function modelName(m: OpenModel): string {
  return `${m.info.name}@${m.info.version}`;
}
