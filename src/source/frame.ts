import type { Mat } from '@u4/opencv4nodejs';
import type { InspectdError } from '../errors.js';

/** Ground truth the synthetic camera knows about the part it drew; real cameras leave it out. */
export interface FrameTruth {
  defective: boolean;
  /** Defect kinds drawn on the part (empty when good), one per defect, in the order of `boxes`. */
  kinds: string[];
  /** Defect boxes in frame pixels [x, y, w, h]. */
  boxes: Array<[number, number, number, number]>;
  /** The source sent a deliberately broken image (test lines); the right verdict is ERROR. */
  corrupt?: boolean;
}

/**
 * One image from one camera. frameId is monotonic per camera for the life of the source;
 * capturedAt is epoch ms taken as close to the sensor as the source allows, and the
 * per-frame deadline counts from it.
 */
export interface Frame {
  camera: string;
  frameId: number;
  capturedAt: number;
  partId: string | null;
  /**
   * The image as the source got it: normally 8-bit mono (CV_8UC1) or BGR (CV_8UC3), but a file
   * replay passes 16-bit and 4-channel images through unchanged. May be empty, malformed or
   * implausible: the pipeline turns that into ERROR.
   */
  image: Mat;
  /** Why the source could not read this capture (a truncated file): the frame gets ERROR with its code. */
  readError?: InspectdError;
  truth?: FrameTruth;
  /**
   * Triggered cameras: when the PLC's trigger for this part arrived (epoch ms). The deadline counts
   * from it, not from capturedAt: the PLC's clock starts when it asks.
   */
  triggeredAt?: number;
  /**
   * The part type or recipe in front of the camera, when the line says which: a golden-template
   * inspection compares the frame with that recipe's reference (else the camera's configured one).
   */
  recipe?: string;
  /** Where the image came from when that is a file (folder replay): its path relative to the replay folder. */
  source?: string;
}

/** A camera's state as the line sees it: `up` delivers frames; `down` says why not (never opened, dropped, stopped). */
export interface CameraStatus {
  state: 'up' | 'down';
  /** Why it is down (null when up). */
  reason: string | null;
}

/** What a source reports besides frames. Every callback is optional. */
export interface SourceEvents {
  /** Called once per change of state, never per retry. */
  state?(status: CameraStatus): void;
  /** A finite source (a folder replay without loop) delivered its last frame. */
  finished?(info: { frames: number }): void;
}

/** Anything that yields frames: the synthetic line, an OpenCV capture device, a folder replay. */
export interface FrameSource {
  readonly camera: string;
  start(onFrame: (frame: Frame) => void, onError: (err: Error) => void, events?: SourceEvents): Promise<void>;
  /** Stop producing frames; resolves when no further onFrame call will happen. */
  stop(): Promise<void>;
  /**
   * Take one frame now, because a part is in front of the camera (a software trigger). Sources
   * without one free-run, and the trigger tags their next frame instead.
   */
  trigger?(): void;
}
