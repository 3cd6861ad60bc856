import { CpuShare } from './cpu-share.js';
import { LoopDelay } from './loop-delay.js';

/** The process-wide figures the daemon's stop line and the bench report, beside the schedulers' counts. */
export interface ProcessFigures {
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  rssStartMb: number;
  rssEndMb: number;
  /** CPU time of the whole process (every thread: inference, writer, libuv pool) since the cameras started, in % of one core. */
  cpuPctOfCore: number;
}

/**
 * Event-loop delay, CPU share and RSS of the running line. Started once the cameras run: model
 * loading and broker start are not the line's event-loop delay or CPU.
 */
export class ProcessMeter {
  private readonly loopDelay = new LoopDelay();
  private readonly cpu = new CpuShare();
  private readonly rssStart = process.memoryUsage().rss;

  start(): void {
    this.loopDelay.enable();
    this.cpu.start();
  }

  stop(): void {
    this.loopDelay.disable();
  }

  figures(): ProcessFigures {
    return {
      eventLoopDelayP99Ms: this.loopDelay.p99Ms(),
      eventLoopDelayMaxMs: this.loopDelay.maxMs(),
      rssStartMb: mb(this.rssStart),
      rssEndMb: mb(process.memoryUsage().rss),
      cpuPctOfCore: this.cpu.pctOfCore(),
    };
  }
}

function mb(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 100) / 100;
}
