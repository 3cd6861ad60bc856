import type { Logger } from 'pino';
import type { VerdictPublisher } from '../outputs/mqtt/publisher.js';
import { opencv } from '../preprocess/opencv.js';
import type { Scheduler } from '../schedule/scheduler.js';
import type { Frame } from '../source/frame.js';
import { TriggerDesk } from '../source/trigger.js';
import type { CameraInspection } from './camera.js';
import type { OpenModel } from './model.js';

export interface TriggerWiring {
  /** Where triggers arrive (`{prefix}/{station}/trigger`) and bad ones are answered (`trigger/error`). */
  publisher: VerdictPublisher;
  /** A camera's inspection as it runs now (a reload may have swapped its model). */
  inspectionOf(camera: string): CameraInspection | undefined;
  schedulerFor(model: OpenModel): Scheduler;
  /** A camera's deadline now (a reload may change it). */
  deadlineOf(camera: string): number;
  log: Logger;
}

/**
 * The station's trigger desk, listening on the trigger topic. Cameras in `trigger: mqtt` (or
 * `opcua`) mode join it as they start (LineCameras) and leave as they stop; each trigger gets one
 * verdict (TIMEOUT, frameId -1, when no frame comes by its deadline). Bad triggers, and triggers
 * for a camera that is not triggered, are answered on `trigger/error` and change nothing.
 */
export function openTriggerDesk(w: TriggerWiring): TriggerDesk {
  const log = w.log.child({ component: 'trigger' });
  const desk = new TriggerDesk({
    noFrame: (camera, partId, arrivedAt, deadlineMs) => {
      const inspection = w.inspectionOf(camera)!;
      const empty = opencv().Mat;
      const frame: Frame = { camera, frameId: -1, capturedAt: arrivedAt, triggeredAt: arrivedAt, partId, image: new empty() };
      log.warn({ event: 'trigger.no_frame', camera, partId }, 'no frame for a trigger by its deadline: TIMEOUT');
      w.schedulerFor(inspection.model).timeoutWithoutFrame(frame, deadlineMs, inspection);
    },
    rejected: (r) => {
      log.warn({ event: 'trigger.rejected', code: r.code, err: r.message }, 'trigger rejected');
      w.publisher.say('trigger/error', r);
    },
    deadlineOf: (camera) => w.deadlineOf(camera),
  });
  w.publisher.listen('trigger', (payload) => desk.accept(payload));
  return desk;
}
