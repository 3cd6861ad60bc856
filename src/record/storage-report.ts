import type { Logger } from 'pino';
import { storageStateOf, type Telemetry } from '../ops/telemetry.js';
import type { Outputs } from '../outputs/output.js';
import type { VerdictPublisher } from '../outputs/mqtt/publisher.js';
import type { StorageState } from './recorder.js';

export interface StorageListeners {
  log: Logger;
  outputs: Outputs | undefined;
  publisher: VerdictPublisher | undefined;
  telemetry: Telemetry;
}

/**
 * Storage faults never stop the line (the writer keeps and retries); each change of the verdict log's
 * state is reported: in the log, on the retained `storage` topic, and to the outputs, which stop
 * waiting for commits that cannot come and deliver from memory.
 */
export function reportStorage(s: StorageState, to: StorageListeners): void {
  if (s.ok) to.log.info({ event: 'storage.state', storage: s }, 'verdict log writable');
  else to.log.error({ event: 'storage.state', code: s.code ?? undefined, storage: s }, 'verdict log cannot be written; verdicts are kept and retried');
  to.outputs?.storageHealthy(s.ok);
  to.publisher?.retain('storage', s);
  // Retried writes are degraded (nothing lost yet); verdicts left out of the log are failed.
  to.telemetry.setStorageState(storageStateOf(s), s.message ?? undefined);
}
