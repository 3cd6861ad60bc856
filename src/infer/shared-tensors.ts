/**
 * Input tensors in shared memory, reused frame after frame. A tensor transferred to the inference
 * worker is a fresh ArrayBuffer on each side every frame (320 KiB for the embedded model): at 100
 * fps both threads saw ~32-64 MB/s of new external memory and V8 ran a scavenge "for external
 * memory pressure" on each about once a second (`--trace-gc`), with the allocation and zero-fill
 * of every buffer on the main thread besides. A tensor in a SharedArrayBuffer is posted, not moved:
 * the worker copies it into its own buffer (ONNX Runtime refuses shared memory) and the main thread
 * takes it back once the run has returned.
 */
export class SharedTensorPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** Buffers made so far (the most ever in flight at once, plus those kept free). */
  made = 0;

  constructor(private readonly keepPerLength = 8) {}

  /** A tensor of this length whose contents are whatever its last use left: the caller fills every element. */
  take(length: number): Float32Array {
    const t = this.free.get(length)?.pop();
    if (t) return t;
    this.made++;
    return new Float32Array(new SharedArrayBuffer(length * 4));
  }

  /**
   * A tensor nobody reads any more (its run has returned). Tensors of other origins, and one already
   * given back, are ignored: a tensor must never be handed out twice.
   */
  give(t: Float32Array): void {
    if (!(t.buffer instanceof SharedArrayBuffer) || t.byteOffset !== 0 || t.buffer.byteLength !== t.length * 4) return;
    let list = this.free.get(t.length);
    if (!list) {
      // A few sizes at most (one per model input shape); past that, drop rather than grow.
      if (this.free.size >= 4) return;
      this.free.set(t.length, (list = []));
    }
    if (list.length >= this.keepPerLength || list.includes(t)) return;
    list.push(t);
  }
}

/** True for a tensor in shared memory: posted as is (never in a transfer list), read by the worker in place. */
export function isShared(data: ArrayBufferView): boolean {
  return data.buffer instanceof SharedArrayBuffer;
}
