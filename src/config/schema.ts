import { z } from 'zod';
import { brokerConnection, isLoopbackHost, mqttUrl, opcua, sparkplugOutput } from './outputs-schema.js';

export { isLoopbackHost };

/**
 * The one config schema. Everything the daemon reads from YAML is defined, defaulted and
 * range-checked here; the rest of the code receives the frozen, typed result and never re-checks.
 * Unknown keys are errors (a typo must not silently become a default).
 */
const rect = z.tuple([z.number().min(0), z.number().min(0), z.number().positive(), z.number().positive()]);

const syntheticSource = z
  .object({
    type: z.literal('synthetic'),
    fps: z.number().positive().max(1000).default(10),
    width: z.number().int().min(64).max(8192).default(640),
    height: z.number().int().min(64).max(8192).default(512),
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
    defectRate: z.number().min(0).max(1).default(0.3),
    seed: z.number().int().min(0).default(1),
    /** Stop after this many frames (the daemon keeps running, idle). */
    count: z.number().int().positive().optional(),
    /** Every Nth frame is deliberately corrupt, to exercise the ERROR path on a test line. */
    corruptEvery: z.number().int().positive().optional(),
    /** Draw only this many distinct parts and cycle them (benchmarks at high rates; frame i shows part i mod N). */
    distinctParts: z.number().int().positive().optional(),
  })
  .strict();

/** How a camera that dropped (or never opened) is retried: capped exponential back-off with jitter. */
const reconnect = z
  .object({
    initialMs: z.number().int().min(10).max(60_000).default(500),
    maxMs: z.number().int().min(10).max(600_000).default(10_000),
  })
  .strict()
  .default({ initialMs: 500, maxMs: 10_000 });

const opencvSource = z
  .object({
    type: z.literal('opencv'),
    /** V4L2 index (0), a device path (/dev/video0), a video file, or a GStreamer pipeline (GigE via aravissrc). */
    device: z.union([z.number().int().min(0), z.string().min(1)]),
    api: z.enum(['any', 'v4l2', 'gstreamer', 'ffmpeg']).default('any'),
    fps: z.number().positive().max(1000).optional(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** Consecutive failed grabs before the camera is reported lost and reopened. */
    maxFailedGrabs: z.number().int().positive().default(10),
    /** Good frames dropped after each open before the camera counts as up (auto-exposure, stale driver buffers). */
    warmupFrames: z.number().int().min(0).max(100).default(2),
    reconnect,
  })
  .strict();

/**
 * A GigE Vision camera through Aravis's own API in a helper process (src/source/aravis-camera.py), free-running
 * or, with `trigger: mqtt`, software-triggered (TriggerSoftware per PLC trigger).
 * Settings left out keep the camera's own (what its last configuration tool saved).
 */
const gigeSource = z
  .object({
    type: z.literal('gige'),
    /** Aravis device id: `Vendor-Model-Serial` or `Vendor-Serial` as `arv-tool-0.8` lists it, or the camera's IP address. */
    cameraName: z.string().min(1).regex(/^[^"!]+$/, 'must not contain " or !'),
    /** The camera's PixelFormat. mono8 gives mono frames; rgb8, bgr8 and bayerrg8 give BGR frames. */
    pixelFormat: z.enum(['mono8', 'rgb8', 'bgr8', 'bayerrg8']).default('mono8'),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    fps: z.number().positive().max(1000).optional(),
    /** Exposure time in microseconds (the camera's ExposureTime/ExposureTimeAbs). */
    exposureUs: z.number().positive().optional(),
    gainDb: z.number().min(0).optional(),
    /** GVSP packet size in bytes; 0 lets Aravis negotiate the largest the path carries (needs MTU 9000 for jumbo). */
    packetSize: z.number().int().min(0).max(16_384).default(0),
    /** Ask the camera to resend lost packets (a lost packet otherwise drops the whole frame). */
    packetResend: z.boolean().default(true),
    reconnect,
  })
  .strict();

/** An IP camera over RTSP, through GStreamer's rtspsrc and decodebin, opened by OpenCV. */
const rtspSource = z
  .object({
    type: z.literal('rtsp'),
    url: z.string().regex(/^rtsps?:\/\/[^\s"!]+$/, 'expected rtsp://[user:password@]host[:port]/path'),
    /** tcp survives lossy networks and NAT; udp has less latency on a clean LAN. */
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    /** 1 = mono, 3 = BGR frames. */
    channels: z.union([z.literal(1), z.literal(3)]).default(3),
    reconnect,
  })
  .strict();

const folderSource = z
  .object({
    type: z.literal('folder'),
    path: z.string().min(1),
    fps: z.number().positive().max(1000).default(5),
    loop: z.boolean().default(false),
    /** Descend into sub-folders (in name order). */
    recursive: z.boolean().default(false),
    /** Glob on the path relative to `path` (`*.png`, `2026-11-30/**\/*.jpg`, `{a,b}*`); without a `/` it matches the file name. */
    pattern: z.string().min(1).optional(),
    /** Stop the daemon (exit 0, every verdict written and published) once the last image is judged. */
    exitWhenDone: z.boolean().default(false),
  })
  .strict();

const thresholds = z
  .object({
    default: z.number().min(0).max(1).optional(),
    perClass: z.record(z.string(), z.number().min(0).max(1)).default({}),
  })
  .strict();

/** A model and how to run it; top-level `model`, or a camera's own. */
const modelRef = z
  .object({
    path: z.string().min(1).default('models/synthetic-line/model.json'),
    /** auto: measure both files at start and run the faster on this machine (INT8 is not always faster on a CPU). */
    precision: z.enum(['auto', 'fp32', 'int8']).default('auto'),
  })
  .strict();

/**
 * What a frame must look like to be judged as a part (src/inspect/plausibility.ts). Limits come
 * from the shipped data: real camera frames measured 49-222 mean grey and at least 9 grey levels of
 * standard deviation (magnetic tile, NEU-DET, the synthetic line); a capped lens, a dead sensor or a
 * blown exposure sits at the ends of the range with almost no spread. Binarised images (DeepPCB,
 * up to 255 mean) need maxBrightness: 255.
 */
const plausibility = z
  .object({
    /** Frame size the camera delivers; left out, the source's configured size (synthetic, opencv width+height) applies. */
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** 1 (mono) or 3 (BGR); left out, a synthetic source's channels apply, otherwise either is accepted. */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    /** A frame smaller than this on either side is not a capture (a 1x1 placeholder, a thumbnail). */
    minSidePx: z.number().int().min(1).default(32),
    /** Scale 16-bit frames to 8 bits (x·255/65535) and drop a 4th (alpha) channel; off, such frames are ERROR. */
    convert: z.boolean().default(false),
    /** Mean grey level (0-255; a colour frame's luminance) a frame must lie within. */
    minBrightness: z.number().min(0).max(255).default(8),
    maxBrightness: z.number().min(0).max(255).default(247),
    /** Standard deviation of grey levels below which a frame is uniform. */
    minContrast: z.number().min(0).max(255).default(4),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.width === undefined) !== (p.height === undefined)) {
      ctx.addIssue({ code: 'custom', path: [p.width === undefined ? 'width' : 'height'], message: 'width and height go together' });
    }
    if (p.minBrightness > p.maxBrightness) {
      ctx.addIssue({ code: 'custom', path: ['minBrightness'], message: `must not exceed maxBrightness (${p.maxBrightness})` });
    }
  });

/** The block's own defaults, taken from the schema above so they are written once. */
const plausibilityDefaults = plausibility.parse({});

const camera = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it becomes part of MQTT topics and IDs)'),
    source: z.discriminatedUnion('type', [syntheticSource, opencvSource, gigeSource, rtspSource, folderSource]),
    /** Verdict due this many ms after capture; past it the PLC gets TIMEOUT (fail-safe). */
    deadlineMs: z.number().positive().max(60_000).optional(),
    thresholds: thresholds.default({ perClass: {} }),
    minDefectAreaPx: z.number().min(0).default(0),
    roi: rect.optional(),
    ignore: z.array(rect).default([]),
    /**
     * This camera's own model, overriding the top-level one. Cameras naming the same path and
     * precision share one backend pool, loaded once, served earliest-deadline-first.
     */
    model: modelRef.optional(),
    /**
     * free-run: every frame is a part. mqtt: the PLC asks on `{prefix}/{station}/trigger`
     * ({camera, partId, ts?}); each trigger gets one inspection of the frame taken for it, carrying
     * its partId, due at the trigger's arrival + deadlineMs, or TIMEOUT when no frame comes.
     * opcua: the same, asked through the OPC UA server's Trigger method (needs opcua.enabled). Both
     * go to one trigger desk: a triggered camera takes triggers from either.
     */
    trigger: z.enum(['free-run', 'mqtt', 'opcua']).default('free-run'),
    /** Part id source: 'frame' makes `${camera}-${frameId}`; 'none' publishes null. */
    partId: z.enum(['frame', 'none']).default('none'),
    plausibility: plausibility.default(plausibilityDefaults),
    /**
     * A golden-template model's references (docs/template-inspection.md): `path` is one reference
     * image or a folder of them, one per recipe (file name without extension); `recipe` is the one
     * compared with when a frame does not say its own.
     */
    template: z
      .object({
        path: z.string().min(1),
        recipe: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

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
