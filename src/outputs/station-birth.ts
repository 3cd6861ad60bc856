import type { Config } from '../config/schema.js';
import { packageVersion } from '../paths.js';
import type { ModelInfo } from '../verdict/types.js';

/** The retained `{prefix}/{station}/birth` payload: what a fleet needs to know about what this station runs. */
export interface StationBirth {
  station: string;
  version: string;
  models: ModelInfo[];
  cameras: { name: string; model: string | undefined; deadlineMs: number }[];
  publishMode: Config['mqtt']['publishMode'];
}

/** Made again whenever the models in use change (start, a reload's swap). */
export function stationBirth(cfg: Config, models: ModelInfo[], modelOf: (camera: string) => string | undefined): StationBirth {
  return {
    station: cfg.station,
    version: packageVersion(),
    models,
    cameras: cfg.cameras.map((c) => ({ name: c.name, model: modelOf(c.name), deadlineMs: c.deadlineMs ?? cfg.deadlineMs })),
    publishMode: cfg.mqtt.publishMode,
  };
}
