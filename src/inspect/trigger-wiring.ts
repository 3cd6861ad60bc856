import type { Logger } from 'pino';
import { isTriggeredCamera, type Config } from '../config/schema.js';
import type { VerdictPublisher } from '../outputs/mqtt/publisher.js';
import { opencv } from '../preprocess/opencv.js';
import type { Scheduler } from '../schedule/scheduler.js';
import type { Frame, FrameSource } from '../source/frame.js';
import { TriggerDesk } from '../source/trigger.js';
import type { CameraInspection } from './camera.js';
import type { OpenModel } from './model.js';

export interface TriggerWiring {
  config: Config;
  sources: ReadonlyMap<string, FrameSource>;
  /** Where triggers arrive (`{prefix}/{station}/trigger`) and bad ones are answered (`trigger/error`). */
  publisher: VerdictPublisher;
  /** A camera's inspection as it runs now (a reload may have swapped its model). */
  inspectionOf(camera: string): CameraInspection | undefined;
  schedulerFor(model: OpenModel): Scheduler;
  log: Logger;
}

/**
 * Cameras in `trigger: mqtt` mode take their parts from the PLC's trigger topic; each trigger gets
 * one verdict (TIMEOUT, frameId -1, when no frame comes by its deadline). Bad triggers are answered
 * on `trigger/error` and change nothing. Undefined when no camera is triggered.
 */
export function openTriggerDesk(w: TriggerWiring): TriggerDesk | undefined {
  const cfg = w.config;
  const triggered = cfg.cameras.filter(isTriggeredCamera);
  if (triggered.length === 0) return undefined;
  const deadlines = new Map(cfg.cameras.map((c) => [c.name, c.deadlineMs ?? cfg.deadlineMs]));
  const log = w.log.child({ component: 'trigger' });
  const desk = new TriggerDesk(new Map(triggered.map((c) => [c.name, { source: w.sources.get(c.name)!, deadlineMs: deadlines.get(c.name)! }])), {
    noFrame: (camera, partId, arrivedAt) => {
      const inspection = w.inspectionOf(camera)!;
      const empty = opencv().Mat;
      const frame: Frame = { camera, frameId: -1, capturedAt: arrivedAt, triggeredAt: arrivedAt, partId, image: new empty() };
      log.warn({ event: 'trigger.no_frame', camera, partId }, 'no frame for a trigger by its deadline: TIMEOUT');
      w.schedulerFor(inspection.model).timeoutWithoutFrame(frame, deadlines.get(camera)!, inspection);
    },
    rejected: (r) => {
      log.warn({ event: 'trigger.rejected', code: r.code, err: r.message }, 'trigger rejected');
      w.publisher.say('trigger/error', r);
    },
  });
  w.publisher.listen('trigger', (payload) => desk.accept(payload));
  return desk;
}
