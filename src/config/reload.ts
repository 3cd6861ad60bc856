import type { Logger } from 'pino';
import { ConfigError, errorCode, errorMessage, type ConfigIssue } from '../errors.js';
import { loadConfig, type ConfigOverrides } from './load.js';
import type { Config } from './schema.js';

/**
 * Settings a running daemon applies between two frames, without a restart: how a part is judged
 * (thresholds, per-class rules, minimum area, ROI, ignore areas), when its verdict is due, how much
 * is logged and how long a stop may drain. Cameras and models change live too, but not between two
 * frames: see CameraChanges and the model swap in inspect/live-changes.ts; PLC-triggered cameras
 * too (they join and leave the trigger desk as they start and stop). Everything else (inference
 * workers, broker, storage, station, HTTP) needs a restart; a reload that changes any
 * of it is refused as a whole, so a half-applied config never runs.
 */
const LIVE_FIELDS: readonly RegExp[] = [
  /^deadlineMs$/,
  /^cameras\[\d+\]\.deadlineMs$/,
  /^cameras\[\d+\]\.thresholds(\..+)?$/,
  /^cameras\[\d+\]\.minDefectAreaPx$/,
  /^cameras\[\d+\]\.roi(\[\d+\])?$/,
  /^cameras\[\d+\]\.ignore(\[\d+\](\[\d+\])?)?$/,
  /^log\.level$/,
  /^shutdown\.drainMs$/,
];

/** The station's model and each camera's own: a change loads the new one beside the old and swaps. */
const MODEL_FIELDS: readonly RegExp[] = [/^model(\..+)?$/, /^cameras\[\d+\]\.model(\..+)?$/];

/** Cameras matched by name between the running config and the new one. */
export interface CameraChanges {
  /** In the new config only: started. */
  added: string[];
  /** In the running config only: stopped (frames already taken still get their verdicts). */
  removed: string[];
  /** In both, with a change only a new source can apply (source, fps, partId, plausibility…): stopped, then started. */
  restarted: string[];
}

export interface ReloadPlan {
  /** Every field path whose value differs (a camera's fields by its index in the new config). */
  changed: string[];
  /** Applied live: the rules and settings above, model changes, cameras added, removed or restarted. */
  live: string[];
  /** Changed fields a running daemon cannot apply. */
  restart: string[];
  cameras: CameraChanges;
}

/** What differs between the running config and a new one, and whether it can be applied live. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const changed: string[] = [];
  const live: string[] = [];
  const restart: string[] = [];
  const cameras: CameraChanges = { added: [], removed: [], restarted: [] };
  const note = (path: string, isLive: boolean) => {
    changed.push(path);
    (isLive ? live : restart).push(path);
  };

  const station: string[] = [];
  diff({ ...current, cameras: undefined }, { ...next, cameras: undefined }, '', station);
  for (const p of station) note(p, LIVE_FIELDS.some((re) => re.test(p)) || MODEL_FIELDS.some((re) => re.test(p)));

  const before = new Map(current.cameras.map((c) => [c.name, c]));
  const after = new Set(next.cameras.map((c) => c.name));
  next.cameras.forEach((cam, i) => {
    const old = before.get(cam.name);
    if (!old) {
      // A PLC-triggered camera joins the trigger desk as it starts, like any camera.
      note(`cameras[${i}]`, true);
      cameras.added.push(cam.name);
      return;
    }
    const paths: string[] = [];
    diff(old, cam, `cameras[${i}]`, paths);
    let restartCamera = false;
    for (const p of paths) {
      // A triggered camera's deadline is read per trigger; its other changes restart it like any camera.
      const rule = LIVE_FIELDS.some((re) => re.test(p));
      const model = MODEL_FIELDS.some((re) => re.test(p));
      if (rule || model) note(p, true);
      else {
        note(p, true);
        restartCamera = true;
      }
    }
    if (restartCamera) cameras.restarted.push(cam.name);
  });
  for (const old of current.cameras) {
    if (after.has(old.name)) continue;
    // A removed triggered camera's waiting triggers get their TIMEOUT as it stops.
    note(`cameras[name=${old.name}]`, true);
    cameras.removed.push(old.name);
  }
  return { changed, live, restart, cameras };
}

function diff(a: unknown, b: unknown, path: string, out: string[]): void {
  if (a === b) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    // A list that grew or shrank (a camera added or removed, an ignore area more) changes as a whole.
    if (a.length !== b.length) {
      out.push(path);
      return;
    }
    a.forEach((v, i) => diff(v, b[i], `${path}[${i}]`, out));
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  out.push(path || '(root)');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a reload did beyond rules: filled in by the daemon as it applies cameras and models. */
export interface AppliedChanges {
  cameras: CameraChanges;
  /** Models loaded, self-tested and swapped in (name@version), and the ones they replaced. */
  models: { loaded: string[]; retired: string[] };
}

export type ReloadOutcome =
  | ({ result: 'applied'; config: Config; changed: string[] } & AppliedChanges)
  | { result: 'refused'; issues: ConfigIssue[] };

export interface ReloadRequest {
  /** The config file the daemon was started with; undefined = the embedded defaults (nothing to re-read). */
  path: string | undefined;
  /** The same command-line overrides as at start, so `--broker`/`--db`/`--http` do not read as changes. */
  overrides: ConfigOverrides;
  current: Config;
  /**
   * Applies a config that differs only in live fields, or throws (a ConfigError such as a per-class
   * threshold for a label the model lacks, or a new model that does not load or self-test) having
   * changed nothing. Rules swap between two frames; a new model is loaded beside the old one first.
   */
  apply: (next: Config, plan: ReloadPlan) => Promise<AppliedChanges | void> | AppliedChanges | void;
  log: Logger;
}

/** Re-reads the config and applies it, or refuses it with every reason and keeps the old one running. */
export async function reloadConfig(req: ReloadRequest): Promise<ReloadOutcome> {
  const { log } = req;
  const refuse = (issues: ConfigIssue[]): ReloadOutcome => {
    log.error({ event: 'config.reload_refused', code: 'INSPECTD_RELOAD_REFUSED', issues }, 'config reload refused; still running the previous config');
    return { result: 'refused', issues };
  };
  let next: Config;
  try {
    next = loadConfig(req.path, req.overrides);
  } catch (err) {
    if (err instanceof ConfigError) return refuse([...err.issues]);
    return refuse([{ path: '(file)', message: errorMessage(err) }]);
  }
  const plan = planReload(req.current, next);
  if (plan.restart.length > 0) {
    return refuse(plan.restart.map((path) => ({ path, message: 'changed, and this setting needs a restart (systemctl restart inspectd)' })));
  }
  let applied: AppliedChanges = { cameras: plan.cameras, models: { loaded: [], retired: [] } };
  try {
    applied = (await req.apply(next, plan)) ?? applied;
  } catch (err) {
    if (err instanceof ConfigError) return refuse([...err.issues]);
    const modelChanged = plan.live.some((p) => MODEL_FIELDS.some((re) => re.test(p)));
    return refuse([{ path: modelChanged ? 'model' : '(apply)', message: `${errorMessage(err)} (${errorCode(err)})` }]);
  }
  log.info({ event: 'config.reloaded', changed: plan.live, ...applied }, plan.live.length > 0 ? 'config reloaded' : 'config reloaded: nothing changed');
  return { result: 'applied', config: next, changed: plan.live, ...applied };
}
