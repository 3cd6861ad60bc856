import { dirname, join, resolve } from 'node:path';
import { format } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua';
import type { Logger } from 'pino';
import { isTriggeredCamera, type Config } from '../../config/schema.js';
import { storageStateOf, type StorageState, type TelemetryTee } from '../../ops/telemetry.js';
import { packageVersion } from '../../paths.js';
import type { VerdictRecorder } from '../../record/recorder.js';
import type { ModelInfo } from '../../verdict/types.js';
import type { TriggerDesk, TriggerRejection } from '../../source/trigger.js';
import { OpcuaOutput } from './server.js';
import { readUsersFile } from './users.js';

export interface OpcuaParts {
  config: Config;
  /** Each camera's model, as loaded. */
  inspections: { cameras: ReadonlyMap<string, { modelInfo: ModelInfo }> };
  /** The state of the verdict log at start (later changes come through telemetry). */
  recorder: Pick<VerdictRecorder, 'storageState'>;
  /** The daemon's trigger desk, once the cameras are open (undefined before, and without triggered cameras). */
  desk: () => TriggerDesk | undefined;
  /** The daemon's telemetry: the server is added to it, to hear camera and storage state. */
  telemetry: TelemetryTee;
  log: Logger;
}

/** The PKI folder config asks for: `opcua-pki/` beside the verdict database (the daemon's state directory) unless given. */
export function opcuaPkiDir(cfg: Config): string {
  return resolve(cfg.opcua.pkiDir ?? join(dirname(resolve(cfg.storage.path)), 'opcua-pki'));
}

/** The OPC UA server config asks for, listening; the users file is read first (a bad one is a config error, exit 78). */
export async function openOpcuaOutput(p: OpcuaParts): Promise<OpcuaOutput> {
  const output = await openOpcuaServer(p, packageVersion(), storageStateOf(p.recorder.storageState()));
  p.telemetry.add(output);
  return output;
}

/** The server alone, for a caller without a daemon around it (bench/opcua-cost.ts, the security test). */
export async function openOpcuaServer(p: Pick<OpcuaParts, 'config' | 'inspections' | 'desk' | 'log'>, version: string, storage: StorageState): Promise<OpcuaOutput> {
  const o = p.config.opcua;
  // node-opcua prints its warnings on stdout as plain text: into the daemon's log instead, as JSON lines.
  const libLog = p.log.child({ lib: 'node-opcua' });
  setWarningLogger((...args: unknown[]) => libLog.warn(format(...args).trim()));
  setErrorLogger((...args: unknown[]) => libLog.error(format(...args).trim()));
  const triggered = p.config.cameras.some(isTriggeredCamera);
  const trigger = (request: { camera: string; partId: string }, arrivedAt: number): TriggerRejection | undefined => {
    const desk = p.desk();
    if (desk) return desk.request(request, arrivedAt);
    return triggered
      ? { code: 'INSPECTD_TRIGGER_INVALID', message: 'inspectd is starting: cameras are not open yet', trigger: request }
      : { code: 'INSPECTD_TRIGGER_UNKNOWN_CAMERA', message: 'no camera in triggered mode (cameras[].trigger: mqtt or opcua)', trigger: request };
  };
  const users = o.usersFile ? readUsersFile(o.usersFile) : undefined;
  return OpcuaOutput.open({
    station: p.config.station,
    version,
    host: o.host,
    port: o.port,
    applicationUri: o.applicationUri ?? `urn:inspectd:${p.config.station}`,
    security: { pkiDir: opcuaPkiDir(p.config), securityModes: o.securityModes, trustUnknownClients: o.trustUnknownClients },
    users,
    // Users configured: only they get in. Otherwise anonymous, unless config turned it off.
    allowAnonymous: users ? false : (o.allowAnonymous ?? true),
    cameras: p.config.cameras.map((c) => ({ name: c.name, triggered: isTriggeredCamera(c), model: p.inspections.cameras.get(c.name)!.modelInfo })),
    trigger,
    storage,
    log: p.log,
  });
}
