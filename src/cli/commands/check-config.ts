import { loadConfig } from '../../config/load.js';
import { ConfigError, InspectdError } from '../../errors.js';
import { EXIT_CONFIG, EXIT_OK } from '../exit-codes.js';

export function checkConfigCommand(file: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  try {
    const cfg = loadConfig(file);
    out.write(`${file}: ok (station ${cfg.station}, ${cfg.cameras.length} camera(s), model ${cfg.model.path})\n`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ConfigError || (e instanceof InspectdError && e.code === 'INSPECTD_CONFIG_READ')) {
      err.write(`${e.message}\n`);
      return EXIT_CONFIG;
    }
    throw e;
  }
}
