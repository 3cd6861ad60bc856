import type { BrokerCredentials } from '../mqtt/credentials.js';

/** How the station's Sparkplug B edge node connects and names itself (from `outputs.sparkplug`, src/outputs/sparkplug/from-config.ts). */
export interface EdgeNodeOptions {
  url: string;
  credentials: BrokerCredentials;
  clientId?: string;
  keepaliveS: number;
  reconnectMs: number;
  groupId: string;
  edgeNode: string;
  /** The devices: one per camera, born at every connect and rebirth. */
  cameras: readonly string[];
  /** Node properties in NBIRTH. */
  station: string;
  version: string;
  /** Where bdSeq is kept across restarts (a small file beside the log), so a host never sees one bdSeq twice in a row. */
  bdSeqFile: string;
  /** Sparkplug 3.0 primary host: born only while `spBv1.0/STATE/{id}` says online; undefined: born at every connect. */
  primaryHostId?: string;
  /** How often the node's own values (counts, backlog, storage) are checked and sent as NDATA when changed. */
  nodeDataIntervalMs: number;
}
