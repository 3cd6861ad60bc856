import { z } from 'zod';

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
  })
  .strict();

const folderSource = z
  .object({
    type: z.literal('folder'),
    path: z.string().min(1),
    fps: z.number().positive().max(1000).default(5),
    loop: z.boolean().default(false),
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

const camera = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it becomes part of MQTT topics and IDs)'),
    source: z.discriminatedUnion('type', [syntheticSource, opencvSource, folderSource]),
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
    /** Part id source: 'frame' makes `${camera}-${frameId}`; 'none' publishes null. */
    partId: z.enum(['frame', 'none']).default('none'),
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
      })
      .strict()
      .default({ backend: 'auto', workers: 1, threads: 1, maxQueue: 4 }),
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
          partId: 'frame',
        },
      ]),
    mqtt: z
      .object({
        /** The plant's broker. Leave out to use the embedded one. */
        url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'expected mqtt://host:port (or mqtts://, ws://, wss://)').optional(),
        topicPrefix: z.string().regex(/^[^#+]+$/, 'must not contain MQTT wildcards').default('inspectd'),
        clientId: z.string().min(1).optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        keepaliveS: z.number().int().min(0).max(65535).default(30),
        reconnectMs: z.number().int().positive().default(1000),
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
        publishMode: 'on-decision',
        embeddedBroker: { enabled: true, host: '127.0.0.1', port: 1883 },
      }),
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
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .default({ level: 'info', format: 'auto' }),
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
  });

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = Config['cameras'][number];
export type SourceConfig = CameraConfig['source'];
export type ModelRef = Config['model'];
