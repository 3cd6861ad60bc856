import { z } from 'zod';

/**
 * A camera's part of the config: its source (synthetic, OpenCV, GigE Vision, RTSP, folder replay),
 * the model it runs, its verdict rules and what a frame must look like to be judged. Part of the one
 * config schema (schema.ts), in its own module because a camera has this much to say.
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
export const modelRef = z
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
export const plausibilityDefaults = plausibility.parse({});

export const camera = z
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
