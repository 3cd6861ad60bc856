import type { Logger } from 'pino';
import type { RejectArchive } from '../archive/reject-archive.js';
import type { Telemetry } from '../ops/telemetry.js';
import type { Outputs } from '../outputs/output.js';
import type { VerdictRecorder } from '../record/recorder.js';
import type { VerdictSink } from '../schedule/scheduler.js';
import type { Mat } from '../preprocess/opencv.js';
import type { DefectMap, VerdictMessage } from './types.js';

export interface VerdictSinkParts {
  station: string;
  recorder: VerdictRecorder;
  /** Read at each verdict: the outputs start after the schedulers are made. */
  outputs: () => Outputs | undefined;
  archive: RejectArchive | undefined;
  telemetry: Telemetry;
  log: Logger;
  /** The operator page's live view, which may want a camera's settled frame (read at each frame). */
  frames?: () => FrameWatcher | undefined;
}

/** Who may take a settled frame besides the archive: asked first, and owns the image it is given. */
export interface FrameWatcher {
  wantsFrame(camera: string): boolean;
  offerFrame(image: Mat, msg: VerdictMessage, map: DefectMap | undefined): void;
}

/**
 * Where the schedulers' verdicts go: the log (which allocates the seq), and beside it every output,
 * the metrics and, once the frame settles, the reject archive. Never throws into a scheduler.
 */
export function createVerdictSink(p: VerdictSinkParts): VerdictSink {
  // Verdicts whose frame has not settled yet: the archive and the live view need the verdict with the image.
  const unsettled = new Map<number, { msg: VerdictMessage; map: DefectMap | undefined }>();
  const keepsFrames = p.archive !== undefined || p.frames !== undefined;
  return {
    settled: (frame, seq) => {
      const held = seq === undefined ? undefined : unsettled.get(seq);
      if (seq !== undefined) unsettled.delete(seq);
      const msg = held?.msg;
      const watcher = msg && p.frames?.();
      const archived = msg !== undefined && p.archive !== undefined && p.archive.wants(msg);
      if (watcher && watcher.wantsFrame(frame.camera)) {
        // Both want it: the archive encodes and releases its own copy (a memcpy, only for a kept reject while a page watches).
        if (archived) p.archive!.keep(frame.image.copy(), msg, held!.map);
        watcher.offerFrame(frame.image, msg, held!.map);
      } else if (archived) p.archive!.keep(frame.image, msg, held!.map);
      else frame.image.release();
    },
    decided: (frame, decision, decidedAt, deadlineMs, inspection) => {
      let msg;
      try {
        msg = p.recorder.record({
          station: p.station,
          camera: frame.camera,
          frameId: frame.frameId,
          partId: frame.partId,
          decision,
          capturedAt: frame.capturedAt,
          decidedAt,
          deadlineMs,
          model: inspection.modelInfo,
          source: frame.source,
        });
      } catch (err) {
        p.log.error({ event: 'verdict.record_failed', err: (err as Error).message, camera: frame.camera, frameId: frame.frameId }, 'verdict could not be recorded');
        return undefined;
      }
      p.outputs()?.decided(msg);
      if (keepsFrames) unsettled.set(msg.seq, { msg, map: decision.map });
      p.telemetry.observeVerdict(msg);
      return msg.seq;
    },
    late: (seq, decision, decidedAt) => {
      p.telemetry.observeLate();
      try {
        p.recorder.recordLate(seq, decision, decidedAt);
      } catch (err) {
        p.log.error({ event: 'verdict.record_failed', err: (err as Error).message, seq }, 'late result could not be recorded');
      }
    },
  };
}
