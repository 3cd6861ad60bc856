import type { Logger } from 'pino';
import { archiveDir } from '../../archive/reject-archive.js';
import type { Config } from '../../config/schema.js';
import type { StationInspections } from '../../inspect/station.js';
import type { VerdictRecorder } from '../../record/recorder.js';
import { LiveFeed } from './live-feed.js';
import { ReviewDesk } from './review-desk.js';

/** The operator page's server side: the live feed (an output in the daemon's list) and the review of rejects. */
export interface OperatorPage {
  feed: LiveFeed;
  review: ReviewDesk;
}

/** The page config asks for, on the daemon's HTTP server; undefined when either is off. */
export function openOperatorPage(cfg: Config, recorder: VerdictRecorder, inspections: StationInspections, log: Logger): OperatorPage | undefined {
  if (!cfg.http.enabled || !cfg.page.enabled) return undefined;
  const feed = new LiveFeed(
    {
      station: cfg.station,
      cameras: cfg.cameras.map((c) => ({ name: c.name, model: inspections.cameras.get(c.name)!.modelInfo, deadlineMs: c.deadlineMs ?? cfg.deadlineMs })),
      updateHz: cfg.page.updateHz,
      shiftStarts: cfg.page.shiftStarts,
      // One minute per bucket: the last hour's counters are per minute.
      history: (since) => recorder.countsSince(since, 60_000),
    },
    log,
  );
  return { feed, review: new ReviewDesk(recorder, archiveDir(cfg), cfg.page.reviewLimit) };
}
