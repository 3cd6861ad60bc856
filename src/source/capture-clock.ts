/**
 * capturedAt for frames of a live GStreamer pipeline. A frame that waited in the one-frame buffer
 * while the main thread was busy is older than the moment read() returned, and the deadline counts
 * from capture, so stamping it with the read time would give it time it does not have.
 * GStreamer stamps each buffer with the pipeline's running time (OpenCV's CAP_PROP_POS_MSEC). The
 * smallest (read time − timestamp) over recent frames is the clock offset seen by a frame that was
 * read the moment it arrived, so timestamp + that offset is when any frame arrived. Never later than
 * the read time; the read time when the pipeline gives no usable timestamp.
 */
export class CaptureClock {
  private offsets: number[] = [];
  private lastPtsMs = -Infinity;

  /** Offsets kept: about 3 s at 20 fps, short enough to follow clock drift, long enough to see one quick read. */
  private static readonly WINDOW = 64;

  stamp(readAtMs: number, ptsMs: number | undefined): number {
    if (ptsMs === undefined || !Number.isFinite(ptsMs) || ptsMs <= 0) return readAtMs;
    // A timestamp going backwards is a new pipeline (reopened camera): the old offsets mean nothing.
    if (ptsMs <= this.lastPtsMs) this.reset();
    this.lastPtsMs = ptsMs;
    this.offsets.push(readAtMs - ptsMs);
    if (this.offsets.length > CaptureClock.WINDOW) this.offsets.shift();
    let offset = Infinity;
    for (const o of this.offsets) offset = Math.min(offset, o);
    return Math.min(readAtMs, Math.round(ptsMs + offset));
  }

  reset(): void {
    this.offsets = [];
    this.lastPtsMs = -Infinity;
  }
}
