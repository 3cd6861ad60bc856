import type { InferenceBackend, TensorMap } from '../../src/infer/backend.js';

/** The real backend, made slow: what a stalled GPU or an overloaded CPU looks like to the scheduler. */
export class SlowBackend implements InferenceBackend {
  runs = 0;
  constructor(
    private readonly inner: InferenceBackend,
    private readonly delayMs: number,
  ) {}
  get info() {
    return this.inner.info;
  }
  async run(inputs: TensorMap): Promise<TensorMap> {
    this.runs++;
    const out = await this.inner.run(inputs);
    await new Promise((r) => setTimeout(r, this.delayMs));
    return out;
  }
  close() {
    return this.inner.close();
  }
}
