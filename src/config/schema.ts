import { z } from 'zod';
import { usableCpus } from '../ops/cpu-affinity.js';
import { camera, modelRef, plausibilityDefaults } from './camera-schema.js';
import { brokerConnection, isLoopbackHost, mqttUrl, opcua, sparkplugOutput } from './outputs-schema.js';

export { isLoopbackHost };

/**
 * The one config schema. Everything the daemon reads from YAML is defined, defaulted and
 * range-checked here; the rest of the code receives the frozen, typed result and never re-checks.
 * Unknown keys are errors (a typo must not silently become a default).
 */
export const configSchema = z
  .object({
    station: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it becomes part of MQTT topics)')
      .default('station1'),
    deadlineMs: z.number().positive().max(60_000).default(30),
    model: modelRef.default({ path: 'models/synthetic-line/model.json', precision: 'auto' }),
    inference: z
      .object({
        backend: z.enum(['auto', 'onnxruntime', 'tensorrt']).default('auto'),
        /** Parallel inference workers (each holds its own session). */
        workers: z.number().int().min(1).max(16).default(1),
        /** ONNX Runtime intra-op threads per worker; 0 = all cores. */
        threads: z.number().int().min(0).max(256).default(1),
        /** Frames of one camera waiting for a free worker beyond this: that camera's oldest is shed (TIMEOUT). */
        maxQueue: z.number().int().min(0).max(1000).default(4),
        /**
         * Frames of several cameras in one inference call: 1 (default), a fixed count, or 'auto' (as many
         * as cameras share the model, taken only if measured at start to cost less per frame).
         */
        batch: z.union([z.literal('auto'), z.number().int().min(1).max(32)]).default(1),
        /**
         * Nice value of each inference thread (Linux, per thread). On a 2-4 core box the inference
         * thread otherwise shares its core with GC helpers, the log writer and camera processes, and
         * its p99 doubles (bench/RESULTS.md). Raising it (< 0) needs CAP_SYS_NICE or RLIMIT_NICE (the
         * unit's LimitNICE=); without either it stays at 0 and model.loaded says why.
         */
        nice: z.number().int().min(-20).max(19).default(-5),
        /**
         * CPUs the inference threads run on (Linux, per thread); every other thread of the daemon, and
         * the processes it starts, then keeps off them. Unset (default): no pinning. Measured on a
         * 2-vCPU VM, pinning did not beat leaving it to the scheduler (bench/RESULTS.md), so it is
         * off by default; it is for boxes with cores to set apart.
         */
        cpus: z
          .array(z.number().int().min(0).max(4095))
          .min(1)
          .optional()
          .superRefine((cpus, ctx) => {
            if (!cpus) return;
            if (new Set(cpus).size !== cpus.length) ctx.addIssue({ code: 'custom', message: 'a CPU is named twice' });
            const usable = usableCpus();
            const missing = usable ? cpus.filter((c) => !usable.includes(c)) : [];
            if (missing.length) ctx.addIssue({ code: 'custom', message: `CPU ${missing.join(', ')} is not one this process may use (${usable!.join(', ')})` });
          }),
      })
      .strict()
      .default({ backend: 'auto', workers: 1, threads: 1, maxQueue: 4, batch: 1, nice: -5 }),
    cameras: z
      .array(camera)
      .min(1)
      .default([
        {
          name: 'cam1',
          source: { type: 'synthetic', fps: 10, width: 640, height: 512, channels: 1, defectRate: 0.3, seed: 1 },
          thresholds: { perClass: {} },
          minDefectAreaPx: 0,
          ignore: [],
          trigger: 'free-run',
          partId: 'frame',
          plausibility: plausibilityDefaults,
        },
      ]),
    mqtt: z
      .object({
        /** The plant's broker. Leave out to use the embedded one. */
        url: mqttUrl.optional(),
        topicPrefix: z.string().regex(/^[^#+]+$/, 'must not contain MQTT wildcards').default('inspectd'),
        ...brokerConnection,
        /**
         * Keep the broker-side session (and the trigger subscription) across reconnects; needs a
         * fixed clientId. Triggers sent while the daemon was away are then delivered when it returns.
         */
        persistentSession: z.boolean().default(false),
        /**
         * on-decision: a verdict is published the moment it is decided, while its durable write runs
         * (the deadline is a promise about the PLC's side of the wire; a crash can then leave the
         * last commit window published but not logged). after-commit: published once logged, but
         * never later than its deadline because of storage.
         */
        publishMode: z.enum(['on-decision', 'after-commit']).default('on-decision'),
        embeddedBroker: z
          .object({
            enabled: z.boolean().default(true),
            host: z.string().default('127.0.0.1'),
            port: z.number().int().min(1).max(65535).default(1883),
            /** Path of the mosquitto binary; found on PATH and in /usr/sbin when left out. */
            binary: z.string().optional(),
          })
          .strict()
          .default({ enabled: true, host: '127.0.0.1', port: 1883 }),
      })
      .strict()
      .default({
        topicPrefix: 'inspectd',
        keepaliveS: 30,
        reconnectMs: 1000,
        persistentSession: false,
        publishMode: 'on-decision',
        embeddedBroker: { enabled: true, host: '127.0.0.1', port: 1883 },
      }),
    /** Outputs beside the MQTT JSON verdicts (outputs/output.ts); each durable one keeps its own cursor in the log. */
    outputs: z
      .object({
        sparkplug: sparkplugOutput.optional(),
      })
      .strict()
      .default({}),
    storage: z
      .object({
        path: z.string().min(1).default('./var/inspectd.db'),
        /** FULL survives power loss per verdict; NORMAL only process crashes (WAL). */
        synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
        /** Acknowledged rows older than this are deleted (0 keeps everything). */
        retentionDays: z.number().min(0).default(0),
        /** The oldest acknowledged rows are deleted while the log's used size exceeds this (0 = no limit). */
        maxSizeMb: z.number().min(0).default(0),
        /** Verdicts kept in memory while the log cannot be written; beyond it they are counted, not kept. */
        maxPendingVerdicts: z.number().int().min(1).default(50_000),
        /**
         * Nice value of the verdict log's writer thread (Linux, per thread). It wakes for every
         * frame's write and took a core from the main thread or the inference each time; with
         * mqtt.publishMode on-decision it is off the PLC's path, and at 10 (the default there) the
         * line's p99 and misses came down on a 2-vCPU box (bench/RESULTS.md). With after-commit the
         * writer is on the PLC's path, so it is left as inherited there unless this is given.
         */
        writerNice: z.number().int().min(-20).max(19).optional(),
        /**
         * Milliseconds the log's writes are gathered on the main thread before one handover to the
         * writer (one commit, one fsync, one reply for all of them). Default 0: after each turn of the
         * event loop, so a crash leaves at most one commit's verdicts published but not logged (what
         * issue 7's kill loops measured). With N > 0 (on-decision) that grows to N ms plus a commit;
         * it halved the writer's CPU at 100 fps but moved no e2e figure (bench/RESULTS.md, dl4).
         */
        handoverMs: z.number().int().min(0).max(1000).optional(),
      })
      .strict()
      .default({ path: './var/inspectd.db', synchronous: 'FULL', retentionDays: 0, maxSizeMb: 0, maxPendingVerdicts: 50_000 }),
    /**
     * Reject images for review and retraining: FAIL/TIMEOUT/ERROR frames (and a sample of PASS) under a
     * quota. Off by default: the JPEG encoding shares the cores with inference, and on a 2-vCPU box at
     * the embedded default it raised TIMEOUTs from 1% to 4% of frames; turn it on where cores are spare.
     */
    archive: z
      .object({
        enabled: z.boolean().default(false),
        /** Default: `rejects/` beside the verdict database. */
        path: z.string().min(1).optional(),
        maxMb: z.number().positive().default(1024),
        verdicts: z.array(z.enum(['FAIL', 'TIMEOUT', 'ERROR'])).default(['FAIL', 'TIMEOUT', 'ERROR']),
        passSampleRate: z.number().min(0).max(1).default(0),
        format: z.enum(['jpg', 'png']).default('jpg'),
        jpegQuality: z.number().int().min(1).max(100).default(90),
      })
      .strict()
      .default({ enabled: false, maxMb: 1024, verdicts: ['FAIL', 'TIMEOUT', 'ERROR'], passSampleRate: 0, format: 'jpg', jpegQuality: 90 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .default({ level: 'info', format: 'auto' }),
    /** One HTTP server for /metrics (Prometheus), /healthz and /readyz; loopback by default. */
    http: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        /** 0 lets the kernel pick a free port (logged at start); 9464 is the usual Prometheus exporter port. */
        port: z.number().int().min(0).max(65535).default(9464),
        /** /readyz stays ready while the broker is unreachable until this many verdicts wait in the outbox. */
        readyMaxBacklog: z.number().int().min(0).default(1000),
        /**
         * The bearer token every state-changing command needs (HTTP `POST /reload`, MQTT `…/cmd`, marking a
         * reject on the operator page), first line of this file; INSPECTD_HTTP_TOKEN when no file is named.
         * Without either, state-changing commands are refused (read-only routes stay open). src/http/auth.ts.
         */
        tokenFile: z.string().min(1).optional(),
      })
      .strict()
      .default({ enabled: true, host: '127.0.0.1', port: 9464, readyMaxBacklog: 1000 }),
    opcua,
    /** The operator page, served by the HTTP server at `/` (docs/operator-page.md). */
    page: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Live updates per second pushed to each page, whatever the frame rate: a frame is encoded (JPEG,
         * off the main thread) at most this often per camera, and only while a page is watching.
         */
        updateHz: z.number().positive().max(10).default(2),
        /** Local times (HH:MM) at which shifts start; the page counts verdicts since the latest one. */
        shiftStarts: z.array(z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)')).min(1).default(['06:00', '14:00', '22:00']),
        /** Most rejects the review strip lists at once. */
        reviewLimit: z.number().int().min(1).max(1000).default(200),
      })
      .strict()
      .default({ enabled: true, updateHz: 2, shiftStarts: ['06:00', '14:00', '22:00'], reviewLimit: 200 }),
    /** The pipeline's heartbeat: systemd's WATCHDOG=1 and /healthz. */
    watchdog: z
      .object({
        /** A frame that has waited this long with no frame answered since means the pipeline is stalled. */
        stallMs: z.number().int().positive().default(10_000),
        /** READY=1 is sent after the first answered frame, or after this long without one (a camera down at start). */
        firstFrameWaitMs: z.number().int().positive().default(60_000),
      })
      .strict()
      .default({ stallMs: 10_000, firstFrameWaitMs: 60_000 }),
    shutdown: z
      .object({
        /** How long a clean stop waits for in-flight frames and unacknowledged publishes. */
        drainMs: z.number().int().min(0).default(5000),
      })
      .strict()
      .default({ drainMs: 5000 }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.cameras.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'name'], message: `duplicate camera name "${c.name}"` });
      seen.add(c.name);
    });
    if (cfg.mqtt.persistentSession && !cfg.mqtt.clientId) {
      ctx.addIssue({ code: 'custom', path: ['mqtt', 'clientId'], message: 'required when mqtt.persistentSession is true (the broker keeps the session by client id)' });
    }
    cfg.cameras.forEach((c, i) => {
      if (c.trigger === 'opcua' && !cfg.opcua.enabled) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'trigger'], message: 'opcua needs opcua.enabled: true (the trigger comes through the OPC UA server)' });
    });
    if (cfg.opcua.enabled && cfg.opcua.securityModes.includes('None') && !isLoopbackHost(cfg.opcua.host) && !cfg.opcua.allowInsecureNone) {
      ctx.addIssue({
        code: 'custom',
        path: ['opcua', 'securityModes'],
        message: `None on a non-loopback endpoint (opcua.host ${cfg.opcua.host}) lets anyone on the network read and trigger unauthenticated: remove None, or set opcua.allowInsecureNone: true`,
      });
    }
    if (cfg.opcua.enabled && cfg.opcua.allowAnonymous && cfg.opcua.usersFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['opcua', 'allowAnonymous'], message: 'anonymous sessions are off when opcua.usersFile names users; leave allowAnonymous out or false' });
    }
    if (cfg.opcua.enabled && cfg.opcua.allowAnonymous === false && cfg.opcua.usersFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['opcua', 'usersFile'], message: 'required when opcua.allowAnonymous is false (no one could log in)' });
    }
    if (cfg.mqtt.password !== undefined && cfg.mqtt.passwordFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['mqtt', 'passwordFile'], message: 'give mqtt.password or mqtt.passwordFile, not both' });
    }
    const spb = cfg.outputs.sparkplug?.broker;
    if (spb?.password !== undefined && spb.passwordFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'sparkplug', 'broker', 'passwordFile'], message: 'give password or passwordFile, not both' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = Config['cameras'][number];
export type SourceConfig = CameraConfig['source'];

/** A camera whose parts the PLC announces (over MQTT or OPC UA: one trigger desk takes both). */
export function isTriggeredCamera(c: Pick<CameraConfig, 'trigger'>): boolean {
  return c.trigger !== 'free-run';
}
export type ModelRef = Config['model'];
