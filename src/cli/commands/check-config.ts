import { resolve } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../config/load.js';
import { ConfigError, errorCode, errorMessage, InspectdError, type ConfigIssue } from '../../errors.js';
import { tensorRtAvailability } from '../../infer/tensorrt/availability.js';
import { openStationInspections, rulesForCameras } from '../../inspect/station.js';
import { loadCommandAuth } from '../../http/auth.js';
import { brokerCredentials } from '../../outputs/mqtt/credentials.js';
import { readUsersFile } from '../../outputs/opcua/users.js';
import { sparkplugCredentials } from '../../outputs/sparkplug/from-config.js';
import { packageRoot } from '../../paths.js';
import { EXIT_CONFIG, EXIT_OK } from '../exit-codes.js';

export interface CheckConfigOptions {
  /** false (`--no-model`): check the files and the labels, but do not load and self-test the model(s). */
  model: boolean;
}

/**
 * What `run` would refuse, found before it runs (systemd's ExecStartPre, so a bad config is one clear
 * error, not a restart loop): the schema; secret and certificate files; each model.json and the
 * per-class labels against it; `backend: tensorrt` on a machine that cannot run it; and, unless
 * `--no-model`, each model loaded and self-tested. Every problem listed; exit 78 for any.
 */
export async function checkConfigCommand(file: string, opts: CheckConfigOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let cfg;
  try {
    cfg = loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError || (e instanceof InspectdError && e.code === 'INSPECTD_CONFIG_READ')) {
      err.write(`${e.message}\n`);
      return EXIT_CONFIG;
    }
    throw e;
  }
  const issues: ConfigIssue[] = [];
  const collect = (path: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else issues.push({ path, message: `${errorMessage(e)} (${errorCode(e)})` });
    }
  };
  // Relative paths in the file were resolved against its folder when it was loaded; the rest against the package.
  const baseDir = packageRoot();
  collect('mqtt', () => brokerCredentials(cfg.mqtt, baseDir));
  collect('http.tokenFile', () => loadCommandAuth(cfg.http));
  collect('outputs.sparkplug.broker', () => sparkplugCredentials(cfg, baseDir));
  collect('model.path', () => rulesForCameras(cfg, baseDir));
  if (cfg.opcua.enabled && cfg.opcua.usersFile) collect('opcua.usersFile', () => readUsersFile(cfg.opcua.usersFile!));
  if (cfg.inference.backend === 'tensorrt') {
    const a = tensorRtAvailability();
    if (!a.ok) issues.push({ path: 'inference.backend', message: `tensorrt cannot run here: ${a.reason}; ${a.fix} (${a.code})` });
  }
  if (opts.model && issues.length === 0) {
    try {
      const inspections = await openStationInspections(cfg, baseDir, pino({ level: 'silent' }));
      await inspections.close();
    } catch (e) {
      issues.push({ path: 'model', message: `${errorMessage(e)} (${errorCode(e)})` });
    }
  }
  if (issues.length > 0) {
    err.write(new ConfigError(issues, resolve(file)).message + '\n');
    return EXIT_CONFIG;
  }
  const models = [...new Set(cfg.cameras.map((c) => (c.model ?? cfg.model).path))];
  out.write(`${file}: ok (station ${cfg.station}, ${cfg.cameras.length} camera(s), model${models.length > 1 ? 's' : ''} ${models.join(', ')}${opts.model ? ', loaded and self-tested' : ', not loaded (--no-model)'})\n`);
  return EXIT_OK;
}
