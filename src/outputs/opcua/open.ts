import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { isTriggeredCamera, type Config } from '../../config/schema.js';
import { storageStateOf, type StorageState, type TelemetryTee } from '../../ops/telemetry.js';
import { errorCode } from '../../errors.js';
import { packageVersion } from '../../paths.js';
import type { VerdictRecorder } from '../../record/recorder.js';
import type { ModelInfo } from '../../verdict/types.js';
import type { TriggerDesk, TriggerRejection } from '../../source/trigger.js';
import { OpcuaOutput, type OpcuaDaemonHooks } from './output.js';
import { readUsersFile } from './users.js';

export interface OpcuaParts {
  config: Config;
  /** Each camera's model, as loaded. */
  inspections: { cameras: ReadonlyMap<string, { modelInfo: ModelInfo }> };
  /** The state of the verdict log at start (later changes come through telemetry). */
  recorder: Pick<VerdictRecorder, 'storageState'>;
  /** The daemon's trigger desk, once the cameras are open (undefined before, and without triggered cameras). */
  desk: () => TriggerDesk | undefined;
  /** The daemon's camera descriptions and line pause (a reload's cameras; Halt and Reset). */
  daemon: OpcuaDaemonHooks;
  /** The daemon's telemetry: the server is added to it, to hear camera and storage state. */
  telemetry: TelemetryTee;
  log: Logger;
}

/** The PKI folder config asks for: `opcua-pki/` beside the verdict database (the daemon's state directory) unless given. */
export function opcuaPkiDir(cfg: Config): string {
  return resolve(cfg.opcua.pkiDir ?? join(dirname(resolve(cfg.storage.path)), 'opcua-pki'));
}

/**
 * The OPC UA server config asks for, its thread started; the users file is read first (a bad one is
 * a config error, exit 78). The daemon does not wait for it to listen: node-opcua's nodeset load
 * takes seconds, and the cameras need not wait for it. A server that cannot start (its port taken,
 * a PKI it cannot write) is logged as INSPECTD_OPCUA and the line goes on without it.
 */
export function openOpcuaOutput(p: OpcuaParts): OpcuaOutput {
  const output = openOpcuaServer(p, packageVersion(), storageStateOf(p.recorder.storageState()), p.daemon);
  p.telemetry.add(output);
  const since = Date.now();
  output.listening.then(
    (l) => p.log.info({ event: 'opcua.listening', endpoints: l.endpoints, priority: l.priority, startMs: Date.now() - since, usersFile: p.config.opcua.usersFile, pki: opcuaPkiDir(p.config) }, 'opc ua server listening'),
    (err: Error) =>
      errorCode(err) === 'INSPECTD_STOPPING'
        ? p.log.info({ event: 'opcua.stopped_loading', startMs: Date.now() - since }, 'opc ua server stopped before it listened')
        : p.log.error({ event: 'opcua.start_failed', code: 'INSPECTD_OPCUA', err: err.message }, 'opc ua server could not start; inspecting without it'),
  );
  return output;
}

/** The server alone, for a caller without a daemon around it (bench/opcua-cost.ts, the security test). */
export function openOpcuaServer(p: Pick<OpcuaParts, 'config' | 'inspections' | 'desk' | 'log'>, version: string, storage: StorageState, daemon?: OpcuaDaemonHooks): OpcuaOutput {
  const o = p.config.opcua;
  const triggered = p.config.cameras.some(isTriggeredCamera);
  const trigger = (request: { camera: string; partId: string }, arrivedAt: number): TriggerRejection | undefined => {
    const desk = p.desk();
    if (desk) return desk.request(request, arrivedAt);
    return triggered
      ? { code: 'INSPECTD_TRIGGER_INVALID', message: 'inspectd is starting: cameras are not open yet', trigger: request }
      : { code: 'INSPECTD_TRIGGER_UNKNOWN_CAMERA', message: 'no camera in triggered mode (cameras[].trigger: mqtt or opcua)', trigger: request };
  };
  // Read here, on the main thread, so that a bad file stops the start (exit 78); the server's thread reads it again.
  if (o.usersFile) readUsersFile(o.usersFile);
  return OpcuaOutput.open(
    {
      station: p.config.station,
      version,
      host: o.host,
      port: o.port,
      applicationUri: o.applicationUri ?? `urn:inspectd:${p.config.station}`,
      security: { pkiDir: opcuaPkiDir(p.config), securityModes: o.securityModes, trustUnknownClients: o.trustUnknownClients },
      usersFile: o.usersFile,
      // Users configured: only they get in. Otherwise anonymous, unless config turned it off.
      allowAnonymous: o.usersFile ? false : (o.allowAnonymous ?? true),
      cameras: p.config.cameras.map((c) => ({ name: c.name, triggered: isTriggeredCamera(c), model: p.inspections.cameras.get(c.name)!.modelInfo })),
      storage,
      verdictLog: resolve(p.config.storage.path),
      nice: o.nice,
      policy: o.policy,
      coalesceMs: o.coalesceMs,
    },
    trigger,
    p.log,
    daemon,
  );
}
