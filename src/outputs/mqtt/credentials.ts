import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';

/** What MQTT.js needs to reach a plant broker: the secret and the certificates read, never logged. */
export interface BrokerCredentials {
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/**
 * Reads the password (from `mqtt.password`, `mqtt.passwordFile` or INSPECTD_MQTT_PASSWORD) and the
 * TLS files named in config, relative paths against baseDir. A file that cannot be read is a config
 * error naming the field, found at start rather than at the first reconnect.
 */
export function brokerCredentials(mqtt: Config['mqtt'], baseDir: string, env: NodeJS.ProcessEnv = process.env): BrokerCredentials {
  const read = (field: string, path: string): Buffer => {
    try {
      return readFileSync(resolve(baseDir, path));
    } catch (err) {
      throw new ConfigError([{ path: `mqtt.${field}`, message: `cannot read ${resolve(baseDir, path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], 'config');
    }
  };
  let password = mqtt.password;
  if (mqtt.passwordFile) password = read('passwordFile', mqtt.passwordFile).toString('utf8').split('\n')[0]!.trimEnd();
  else if (password === undefined && env.INSPECTD_MQTT_PASSWORD !== undefined) password = env.INSPECTD_MQTT_PASSWORD;
  const tls = mqtt.tls;
  return {
    ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls?.ca ? { ca: read('tls.ca', tls.ca) } : {}),
    ...(tls?.cert ? { cert: read('tls.cert', tls.cert) } : {}),
    ...(tls?.key ? { key: read('tls.key', tls.key) } : {}),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  };
}
