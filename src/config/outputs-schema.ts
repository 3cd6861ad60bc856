import { z } from 'zod';

/**
 * The config of the outputs beside the MQTT verdicts (OPC UA, Sparkplug B) and the broker connection
 * MQTT and Sparkplug share: part of configSchema (schema.ts), kept here so each output's settings
 * read in one place.
 */

/** 127.0.0.0/8, ::1 and localhost: the only hosts on which SecurityPolicy None is allowed by default. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The OPC UA server (src/outputs/opcua/, docs/opcua.md): the station's results, state and the PLC
 * handshake for controllers that read OPC UA rather than MQTT. Off by default.
 */
export const opcua = z
  .object({
    enabled: z.boolean().default(false),
    /** Address the server binds; loopback by default. 0.0.0.0 for every interface. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 4840 is OPC UA's registered port. */
    port: z.number().int().min(1).max(65535).default(4840),
    /**
     * Message security offered: None (no signature, no encryption), Sign and SignAndEncrypt (both
     * Basic256Sha256). None only on a loopback host unless allowInsecureNone is true.
     */
    securityModes: z.array(z.enum(['None', 'Sign', 'SignAndEncrypt'])).min(1).default(['None', 'Sign', 'SignAndEncrypt']),
    /** Offer None on a non-loopback host (a closed cell network where the PLC cannot do certificates). */
    allowInsecureNone: z.boolean().default(false),
    /** The server certificate and the trust lists (own/, trusted/, rejected/, issuers/). Default: `opcua-pki/` beside the verdict database. */
    pkiDir: z.string().min(1).optional(),
    /** Accept client certificates that are not in trusted/ (each is added to trusted/). For commissioning only: any client then gets in. */
    trustUnknownClients: z.boolean().default(false),
    /** `name:password` or `name:scrypt$...` per line (docs/opcua.md); with it, anonymous sessions are refused. */
    usersFile: z.string().min(1).optional(),
    /** Anonymous sessions; default: allowed when no usersFile is given. */
    allowAnonymous: z.boolean().optional(),
    /** Identifies this server to clients (ApplicationUri); default urn:inspectd:{station}. */
    applicationUri: z.string().min(1).optional(),
    /**
     * Nice value of the server's thread (its JS thread only: node-opcua's encoding, subscriptions and
     * sessions). Above 0 the kernel gives the cameras, the main thread and inference the CPU first
     * when they want it: on a box with few cores a client's burst waits, not a frame.
     */
    nice: z.number().int().min(-20).max(19).default(5),
    /**
     * How the server's thread yields: idle, SCHED_IDLE (a core only when no thread of the line wants
     * one; results can wait while both are busy); nice, the normal policy at `nice`. The default and
     * why: docs/opcua.md, "It yields to the line".
     */
    policy: z.enum(['idle', 'nice']).default('idle'),
    /**
     * 0: each verdict is posted to the server's thread as it is decided. N > 0: the verdicts of N ms
     * go in one message (fewer wake-ups of that thread; a client sees a result up to N ms later).
     * bench/RESULTS.md ("OPC UA: coalesced verdicts") has what it changed on 2 vCPUs.
     */
    coalesceMs: z.number().int().min(0).max(1000).default(0),
  })
  .strict()
  .default({ enabled: false, host: '127.0.0.1', port: 4840, securityModes: ['None', 'Sign', 'SignAndEncrypt'], allowInsecureNone: false, trustUnknownClients: false, nice: 5, policy: 'idle', coalesceMs: 0 });

/**
 * How inspectd reaches a broker, besides its URL: shared by the MQTT output (`mqtt`) and the Sparkplug B
 * output's own broker (`outputs.sparkplug.broker`); read by outputs/mqtt/credentials.ts.
 */
export const brokerConnection = {
  clientId: z.string().min(1).optional(),
  username: z.string().optional(),
  /** In the file is better: a config file is often readable by more people than a secret should be. */
  password: z.string().optional(),
  /** A file holding the password (first line); or set INSPECTD_MQTT_PASSWORD in the environment. */
  passwordFile: z.string().min(1).optional(),
  /** TLS to the plant broker (mqtts://): CA to trust, and a client certificate where the broker asks for one. */
  tls: z
    .object({
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      /** Only for a broker whose certificate cannot be checked; logged as a warning. */
      rejectUnauthorized: z.boolean().default(true),
    })
    .strict()
    .optional(),
  keepaliveS: z.number().int().min(0).max(65535).default(30),
  reconnectMs: z.number().int().positive().default(1000),
};

export const mqttUrl = z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'expected mqtt://host:port (or mqtts://, ws://, wss://)');

/**
 * Sparkplug B 3.0 (outputs/sparkplug/): the station as an edge node, each camera a device, so an
 * Ignition-style SCADA reads verdicts and counters natively. Off unless this section is given.
 */
export const sparkplugOutput = z
  .object({
    enabled: z.boolean().default(true),
    /** Sparkplug topic elements: no '/', '+' or '#'. */
    groupId: z.string().regex(/^[^/#+]+$/, 'must not contain / + or #'),
    /** The edge node id; the station name when left out. */
    edgeNode: z
      .string()
      .regex(/^[^/#+]+$/, 'must not contain / + or #')
      .optional(),
    /** A broker of its own (a SCADA's); left out, the MQTT output's broker and credentials are used. */
    broker: z
      .object({ url: mqttUrl, ...brokerConnection })
      .strict()
      .optional(),
    /**
     * The primary host application's id (Sparkplug 3.0): births wait until `spBv1.0/STATE/{id}` says
     * online, and its offline brings NDEATH and a reconnect. Left out: births at every connect.
     */
    primaryHostId: z
      .string()
      .regex(/^[^/#+]+$/, 'must not contain / + or #')
      .optional(),
    /** How often the node's counters, backlog and storage state are checked and sent as NDATA when one changed. */
    nodeDataIntervalS: z.number().positive().max(3600).default(10),
  })
  .strict();
