import type { Logger } from 'pino';
import { ConfigError, errorMessage, type ConfigIssue } from '../errors.js';
import { loadConfig, type ConfigOverrides } from './load.js';
import { isTriggeredCamera, type Config } from './schema.js';

/**
 * Settings a running daemon applies between two frames, without a restart: how a part is judged
 * (thresholds, per-class rules, minimum area, ROI, ignore areas), when its verdict is due, how much
 * is logged and how long a stop may drain. Everything else (cameras added, removed or re-sourced,
 * the model, inference workers, broker, storage, station, HTTP) needs a restart; a reload that
 * changes any of it is refused as a whole, so a half-applied config never runs.
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

export interface ReloadPlan {
  /** Every field path whose value differs. */
  changed: string[];
  live: string[];
  /** Changed fields a running daemon cannot apply. */
  restart: string[];
}

/** What differs between the running config and a new one, and whether it can be applied live. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const changed: string[] = [];
  diff(current, next, '', changed);
  const isLive = (p: string) => LIVE_FIELDS.some((re) => re.test(p)) && !deadlineOfTriggered(p, current, next);
  return { changed, live: changed.filter(isLive), restart: changed.filter((p) => !isLive(p)) };
}

/**
 * A PLC-triggered camera's deadline also runs in its trigger desk, which keeps the one it started
 * with; changing only the scheduler's half would time the same part two ways, so it needs a restart.
 */
function deadlineOfTriggered(path: string, current: Config, next: Config): boolean {
  const triggered = (c: Config['cameras'][number] | undefined) => c !== undefined && isTriggeredCamera(c);
  if (path === 'deadlineMs') return current.cameras.some((c, i) => triggered(c) && c.deadlineMs === undefined && next.cameras[i]?.deadlineMs === undefined);
  const m = /^cameras\[(\d+)\]\.deadlineMs$/.exec(path);
  return m !== null && triggered(current.cameras[Number(m[1])]);
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

export type ReloadOutcome =
  | { result: 'applied'; config: Config; changed: string[] }
  | { result: 'refused'; issues: ConfigIssue[] };

export interface ReloadRequest {
  /** The config file the daemon was started with; undefined = the embedded defaults (nothing to re-read). */
  path: string | undefined;
  /** The same command-line overrides as at start, so `--broker`/`--db`/`--http` do not read as changes. */
  overrides: ConfigOverrides;
  current: Config;
  /**
   * Applies a config that differs only in live fields, synchronously (between two frames), or throws
   * a ConfigError (e.g. a per-class threshold for a label the model lacks) having changed nothing.
   */
  apply: (next: Config, plan: ReloadPlan) => void;
  log: Logger;
}

/** Re-reads the config and applies it, or refuses it with every reason and keeps the old one running. */
export function reloadConfig(req: ReloadRequest): ReloadOutcome {
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
  try {
    req.apply(next, plan);
  } catch (err) {
    if (err instanceof ConfigError) return refuse([...err.issues]);
    return refuse([{ path: '(apply)', message: errorMessage(err) }]);
  }
  log.info({ event: 'config.reloaded', changed: plan.live }, plan.live.length > 0 ? 'config reloaded' : 'config reloaded: nothing changed');
  return { result: 'applied', config: next, changed: plan.live };
}
