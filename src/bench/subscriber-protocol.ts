import type { VerdictMessage } from '../verdict/types.js';

/** One verdict as the bench's subscriber received it: `at` is its clock on receipt (epoch ms). */
export interface ReceivedVerdict extends Pick<VerdictMessage, 'seq' | 'camera' | 'verdict' | 'capturedAt' | 'deadlineMs'> {
  at: number;
}

export type ToSubscriber = { type: 'count'; on: boolean } | { type: 'report' };

export type FromSubscriber =
  | { type: 'subscribed' }
  | { type: 'progress'; received: number; timeouts: number }
  | { type: 'report'; received: ReceivedVerdict[] };
