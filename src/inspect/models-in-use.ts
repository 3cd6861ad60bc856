import type { Logger } from 'pino';
import type { CameraConfig, Config } from '../config/schema.js';
import type { Scheduler, SchedulerStats } from '../schedule/scheduler.js';
import type { ModelInfo } from '../verdict/types.js';
import type { OpenModel } from './model.js';
import { cameraModelRef, modelKey, openConfiguredModel } from './station.js';

/**
 * The models a running daemon has open, each with the scheduler that runs its backend pool, by
 * modelKey (path + precision). At start they are the station's; a reload opens the ones a new config
 * names beside them (all or none), and retires those no camera uses any more once their frames settle.
 */
export class ModelsInUse {
  private readonly byKey = new Map<string, OpenModel>();
  private readonly schedulers = new Map<OpenModel, Scheduler>();

  constructor(
    private readonly baseDir: string,
    /** Makes a model's scheduler, the first time a camera uses the model. */
    private readonly newScheduler: (model: OpenModel) => Scheduler,
  ) {}

  add(key: string, model: OpenModel): void {
    this.byKey.set(key, model);
  }

  /** The open model a camera of `cfg` names (undefined before openMissing has opened it). */
  modelOf(cfg: Config, cam: CameraConfig): OpenModel | undefined {
    return this.byKey.get(modelKey(cameraModelRef(cfg, cam), this.baseDir));
  }

  schedulerFor(model: OpenModel): Scheduler {
    let scheduler = this.schedulers.get(model);
    if (!scheduler) {
      scheduler = this.newScheduler(model);
      this.schedulers.set(model, scheduler);
    }
    return scheduler;
  }

  /** Each model's scheduler (stats, probes, the drain at stop). */
  running(): Array<[OpenModel, Scheduler]> {
    return [...this.schedulers];
  }

  /** What every scheduler did, summed: the daemon's stats and the bench's stop line. */
  totals(): SchedulerStats {
    const total: SchedulerStats = { submitted: 0, decided: 0, timeouts: 0, shed: 0, errors: 0, late: 0 };
    for (const s of this.schedulers.values()) {
      for (const k of Object.keys(total) as (keyof SchedulerStats)[]) total[k] += s.stats[k];
    }
    return total;
  }

  infos(): ModelInfo[] {
    return [...this.byKey.values()].map((m) => m.info);
  }

  /**
   * Opens and self-tests each model `next` names that is not open yet, beside the ones running (which
   * keep answering meanwhile). When one fails, those opened here are closed again and it throws.
   */
  async openMissing(next: Config, log: Logger): Promise<OpenModel[]> {
    const keyOf = (cam: CameraConfig) => modelKey(cameraModelRef(next, cam), this.baseDir);
    const wanted = new Map(next.cameras.map((cam) => [keyOf(cam), cameraModelRef(next, cam)]));
    const opened = new Map<string, OpenModel>();
    try {
      for (const [key, ref] of wanted) {
        if (this.byKey.has(key)) continue;
        const sharedBy = next.cameras.filter((cam) => keyOf(cam) === key).length;
        opened.set(key, await openConfiguredModel(ref, next, this.baseDir, log, sharedBy));
      }
    } catch (err) {
      await Promise.all([...opened.values()].map((m) => m.close()));
      throw err;
    }
    for (const [key, model] of opened) this.byKey.set(key, model);
    return [...opened.values()];
  }

  /** Closes the models not in `inUse`, each once the frames already queued on it are answered (or drainMs passes). */
  async retireUnused(inUse: ReadonlySet<OpenModel>, drainMs: number, log: Logger): Promise<OpenModel[]> {
    const retired = [...this.byKey].filter(([, m]) => !inUse.has(m));
    for (const [key, model] of retired) {
      this.byKey.delete(key);
      const scheduler = this.schedulers.get(model);
      if (scheduler && !(await scheduler.settled(drainMs))) {
        log.warn({ event: 'model.retire_late', model: model.info, pending: scheduler.pending }, 'retired model still had frames running; closing it anyway');
      }
      this.schedulers.delete(model);
      await model.close();
      log.info({ event: 'model.retired', model: model.info }, 'model no camera uses any more closed');
    }
    return retired.map(([, m]) => m);
  }

  /** At stop, after the schedulers have settled: every model open now (retired ones are closed already). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.byKey.values()].map((m) => m.close()));
  }
}
