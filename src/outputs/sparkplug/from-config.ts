import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { packageVersion } from '../../paths.js';
import { brokerCredentials, type BrokerCredentials } from '../mqtt/credentials.js';
import type { Outbox } from '../output.js';
import { SPARKPLUG_OUTPUT, SparkplugEdgeNode } from './edge-node.js';

/** The Sparkplug B output's name in the log's outbox when config enables it (the recorder owes it verdicts). */
export function sparkplugEnabled(cfg: Config): boolean {
  return cfg.outputs.sparkplug?.enabled ?? false;
}

export { SPARKPLUG_OUTPUT };

/**
 * The credentials of the Sparkplug output's own broker, read at start like the MQTT output's (a file
 * that cannot be read is a config error naming the field); undefined when it shares the MQTT broker.
 */
export function sparkplugCredentials(cfg: Config, baseDir: string): BrokerCredentials | undefined {
  const broker = cfg.outputs.sparkplug?.broker;
  if (!broker || !sparkplugEnabled(cfg)) return undefined;
  return brokerCredentials(broker, baseDir, process.env, { field: 'outputs.sparkplug.broker', passwordEnv: 'INSPECTD_SPARKPLUG_PASSWORD' });
}

/** The edge node for this config, on its own broker or the MQTT output's. */
export function sparkplugFromConfig(
  cfg: Config,
  outbox: Outbox,
  shared: { url: string; credentials: BrokerCredentials },
  own: BrokerCredentials | undefined,
  log: Logger,
): SparkplugEdgeNode | undefined {
  const spb = cfg.outputs.sparkplug;
  if (!spb || !sparkplugEnabled(cfg)) return undefined;
  const conn = spb.broker ?? cfg.mqtt;
  return new SparkplugEdgeNode(
    outbox,
    {
      url: spb.broker?.url ?? shared.url,
      credentials: own ?? shared.credentials,
      // A client id of its own: one connection must not take over the other's session at the broker.
      ...(spb.broker?.clientId ? { clientId: spb.broker.clientId } : cfg.mqtt.clientId ? { clientId: `${cfg.mqtt.clientId}-spb` } : {}),
      keepaliveS: conn.keepaliveS,
      reconnectMs: conn.reconnectMs,
      groupId: spb.groupId,
      edgeNode: spb.edgeNode ?? cfg.station,
      cameras: cfg.cameras.map((c) => c.name),
      station: cfg.station,
      version: packageVersion(),
      bdSeqFile: `${resolve(cfg.storage.path)}.sparkplug-bdseq`,
      ...(spb.primaryHostId !== undefined ? { primaryHostId: spb.primaryHostId } : {}),
      nodeDataIntervalMs: spb.nodeDataIntervalS * 1000,
    },
    log,
  );
}
