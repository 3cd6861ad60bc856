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

/** A broker's login and TLS settings as config gives them: `mqtt`, or `outputs.sparkplug.broker`. */
export type BrokerLogin = Pick<Config['mqtt'], 'username' | 'password' | 'passwordFile' | 'tls'>;

/** Where in config a broker's settings are, and the environment variable that may hold its password. */
export interface BrokerLoginSource {
  field: string;
  passwordEnv: string;
}

export const MQTT_LOGIN: BrokerLoginSource = { field: 'mqtt', passwordEnv: 'INSPECTD_MQTT_PASSWORD' };

/**
 * Reads the password (from `password`, `passwordFile` or the environment) and the TLS files named in
 * config, relative paths against baseDir. A file that cannot be read is a config error naming the
 * field, found at start rather than at the first reconnect.
 */
export function brokerCredentials(mqtt: BrokerLogin, baseDir: string, env: NodeJS.ProcessEnv = process.env, source: BrokerLoginSource = MQTT_LOGIN): BrokerCredentials {
  const read = (field: string, path: string): Buffer => {
    try {
      return readFileSync(resolve(baseDir, path));
    } catch (err) {
      throw new ConfigError([{ path: `${source.field}.${field}`, message: `cannot read ${resolve(baseDir, path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], 'config');
    }
  };
  let password = mqtt.password;
  if (mqtt.passwordFile) password = read('passwordFile', mqtt.passwordFile).toString('utf8').split('\n')[0]!.trimEnd();
  else if (password === undefined && env[source.passwordEnv] !== undefined) password = env[source.passwordEnv];
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
