import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { StationInspections } from '../inspect/station.js';
import type { TelemetryTee } from '../ops/telemetry.js';
import type { VerdictRecorder } from '../record/recorder.js';
import { MQTT_OUTPUT } from '../record/store.js';
import type { TriggerDesk } from '../source/trigger.js';
import type { OpcuaDaemonHooks } from './opcua/output.js';
import type { BrokerCredentials } from './mqtt/credentials.js';
import { VerdictPublisher } from './mqtt/publisher.js';
import { openOperatorPage, type OperatorPage } from './operator-page/operator-page.js';
import { Outputs } from './output.js';
import { SPARKPLUG_OUTPUT, sparkplugEnabled, sparkplugFromConfig } from './sparkplug/from-config.js';

export interface StationOutputParts {
  config: Config;
  recorder: VerdictRecorder;
  inspections: StationInspections;
  /** The broker the station's MQTT JSON output (and Sparkplug, unless it has its own) connects to. */
  url: string;
  credentials: BrokerCredentials;
  /** Sparkplug's own broker credentials, when it does not share the station's connection. */
  sparkplugCredentials: BrokerCredentials | undefined;
  /** The trigger desk, once the cameras are open: OPC UA's Trigger method goes to it. */
  desk: () => TriggerDesk | undefined;
  telemetry: TelemetryTee;
  /** What OPC UA asks of the daemon: a camera a reload adds, as it runs now; the line's pause for Halt and Reset. */
  daemon: OpcuaDaemonHooks;
  log: Logger;
}

export interface StationOutputs {
  /** The MQTT JSON output, also the station's command, trigger and retained-status channel. */
  publisher: VerdictPublisher;
  /** Every output, in delivery order: MQTT, Sparkplug B, OPC UA, the operator page's live feed. */
  outputs: Outputs;
  page: OperatorPage | undefined;
}

/** The durable outputs config asks for: each keeps its own cursor in the verdict log, and retention waits for all of them. */
export function durableOutputs(cfg: Config): string[] {
  return [MQTT_OUTPUT, ...(sparkplugEnabled(cfg) ? [SPARKPLUG_OUTPUT] : [])];
}

/**
 * The outputs config asks for, made once, in the order the daemon delivers to them; nothing is
 * started here (the daemon starts them in its start order). Durable outputs get their own cursor
 * in the verdict log.
 */
export async function openStationOutputs(p: StationOutputParts): Promise<StationOutputs> {
  const { config: cfg, recorder, log } = p;
  const publisher = new VerdictPublisher(
    recorder.outbox(MQTT_OUTPUT),
    {
      url: p.url,
      topicPrefix: cfg.mqtt.topicPrefix,
      station: cfg.station,
      clientId: cfg.mqtt.clientId,
      persistentSession: cfg.mqtt.persistentSession,
      credentials: p.credentials,
      keepaliveS: cfg.mqtt.keepaliveS,
      reconnectMs: cfg.mqtt.reconnectMs,
      publishMode: cfg.mqtt.publishMode,
    },
    log.child({ component: 'mqtt' }),
  );
  const sparkplug = sparkplugFromConfig(cfg, recorder.outbox(SPARKPLUG_OUTPUT), { url: p.url, credentials: p.credentials }, p.sparkplugCredentials, log.child({ component: 'sparkplug' }));
  // OPC UA (opcua.enabled): its server loads on its own thread while the cameras start. Imported
  // only when asked for: node-opcua is large and most stations do not use it.
  const opcua = cfg.opcua.enabled
    ? (await import('./opcua/open.js')).openOpcuaOutput({ config: cfg, inspections: p.inspections, recorder, desk: p.desk, telemetry: p.telemetry, daemon: p.daemon, log: log.child({ component: 'opcua' }) })
    : undefined;
  // The operator page's live view is an output like MQTT: it hears every verdict as it is decided.
  const page = openOperatorPage(cfg, recorder, p.inspections, log.child({ component: 'page' }));
  // The Sparkplug devices die and are born again with their cameras (DDEATH/DBIRTH): it hears camera state as operations does.
  if (sparkplug) p.telemetry.add(sparkplug);
  const outputs = new Outputs([publisher, ...(sparkplug ? [sparkplug] : []), ...(opcua ? [opcua] : []), ...(page ? [page.feed] : [])]);
  return { publisher, outputs, page };
}
