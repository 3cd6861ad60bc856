import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, InspectdError } from '../errors.js';
import { resolveConfigPaths } from './paths.js';
import { configSchema, type Config } from './schema.js';
import { formatZodIssues } from './zod-issues.js';

/** Flags that override the file: `run --broker/--db/--station`. */
export interface ConfigOverrides {
  brokerUrl?: string;
  dbPath?: string;
  station?: string;
  /** `run --http HOST:PORT`: where the metrics and health server listens (turns it on). */
  http?: { host: string; port: number };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The flag that sets a config field, to name it in errors (a user typed the flag, not the field). */
const FLAG_FIELDS: ReadonlyArray<[keyof ConfigOverrides, string, string]> = [
  ['station', 'station', '--station'],
  ['dbPath', 'storage.path', '--db'],
  ['brokerUrl', 'mqtt.url', '--broker'],
];

/** Validates raw (already parsed) config; every problem is reported at once, by field path (or flag). */
export function parseConfig(raw: unknown, source: string, overrides: ConfigOverrides = {}): Config {
  const input = (raw ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError([{ path: '(root)', message: 'expected a mapping of settings' }], source);
  }
  const merged: Record<string, unknown> = { ...input };
  if (overrides.station !== undefined) merged.station = overrides.station;
  if (overrides.dbPath !== undefined) merged.storage = { ...(input.storage as object | undefined), path: overrides.dbPath };
  if (overrides.http !== undefined) merged.http = { ...(input.http as object | undefined), ...overrides.http, enabled: true };
  if (overrides.brokerUrl !== undefined) {
    const mqtt = (input.mqtt as Record<string, unknown> | undefined) ?? {};
    const embedded = (mqtt.embeddedBroker as Record<string, unknown> | undefined) ?? {};
    merged.mqtt = { ...mqtt, url: overrides.brokerUrl, embeddedBroker: { ...embedded, enabled: false } };
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const flags = new Map(FLAG_FIELDS.filter(([k]) => overrides[k] !== undefined).map(([, field, flag]) => [field, flag]));
    const issues = formatZodIssues(result.error, merged).map((i) => (flags.has(i.path) ? { ...i, path: flags.get(i.path)! } : i));
    const fromFlagsOnly = issues.every((i) => i.path.startsWith('--'));
    throw new ConfigError(issues, fromFlagsOnly ? 'given on the command line' : source);
  }
  const cfg = result.data;
  if (!cfg.mqtt.url && !cfg.mqtt.embeddedBroker.enabled) {
    throw new ConfigError([{ path: 'mqtt.url', message: 'required when mqtt.embeddedBroker.enabled is false' }], source);
  }
  return deepFreeze(cfg);
}

/**
 * Reads and validates a YAML config file; no file means the embedded demo defaults. Relative paths in
 * the file resolve against its folder (config/paths.ts). An empty or comment-only file is an error,
 * not the defaults: a truncated production file must not start the synthetic demo.
 */
export function loadConfig(path: string | undefined, overrides: ConfigOverrides = {}): Config {
  if (path === undefined) return parseConfig({}, '(built-in defaults)', overrides);
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new InspectdError('INSPECTD_CONFIG_READ', `cannot read config ${abs}: ${(err as Error).message}`, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0] ?? e.message })),
      abs,
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    throw new ConfigError([{ path: '(root)', message: 'the file has no settings (empty or only comments); run without -c for the built-in demo' }], abs);
  }
  const resolved = typeof raw === 'object' && !Array.isArray(raw) ? resolveConfigPaths(raw as Record<string, unknown>, dirname(abs)) : raw;
  return parseConfig(resolved, abs, overrides);
}
