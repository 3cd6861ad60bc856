/**
 * Renders the synthetic camera's parts off the main thread. A 640x512 part takes ~8 ms of pure
 * JavaScript; on the main thread that would delay every deadline timer behind it, which a real
 * camera (whose driver fills buffers on its own threads) never does.
 */
import { parentPort } from 'node:worker_threads';
import { renderPart, type RenderPartParams } from './render.js';

if (!parentPort) throw new Error('the synthetic render worker must run in a worker thread');
const port = parentPort;

export type ToRenderWorker = { type: 'render'; params: RenderPartParams };
export type FromRenderWorker =
  | { type: 'rendered'; index: number; pixels: Uint8Array; truth: ReturnType<typeof renderPart>['truth'] }
  | { type: 'render-error'; index: number; message: string };

port.on('message', (msg: ToRenderWorker) => {
  try {
    const part = renderPart(msg.params);
    const reply: FromRenderWorker = { type: 'rendered', index: msg.params.index, pixels: part.pixels, truth: part.truth };
    port.postMessage(reply, [part.pixels.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ type: 'render-error', index: msg.params.index, message: (err as Error).message } satisfies FromRenderWorker);
  }
});
