import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import type { TensorData, TensorMap } from '../../src/infer/backend.js';

/**
 * ONNX Runtime in a Python process (bench/gpu/ort-peer.py), for the GPU machine, which has the
 * onnxruntime Python package but no room in a device call for onnxruntime-node's library.
 * One request at a time: run() waits for the previous answer.
 */
export class OrtPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  version = '';

  private constructor(onnxFile: string) {
    this.child = spawn('python3', [resolve('bench/gpu/ort-peer.py'), onnxFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiter?.();
    });
    this.child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.child.once('exit', () => this.waiter?.());
  }

  static async open(onnxFile: string): Promise<OrtPeer> {
    const peer = new OrtPeer(onnxFile);
    const ready = JSON.parse((await peer.readLine()).toString()) as { ready: string; providers: string[] };
    peer.version = `onnxruntime ${ready.ready} (Python), ${ready.providers.join(', ')}`;
    return peer;
  }

  run(name: string, dims: number[], tensor: Float32Array): Promise<TensorMap> {
    const next = this.queue.then(async () => {
      const bytes = Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength);
      this.child.stdin.write(JSON.stringify({ name, dims, bytes: bytes.byteLength }) + '\n');
      this.child.stdin.write(bytes);
      const meta = JSON.parse((await this.readLine()).toString()) as Array<{ name: string; dims: number[]; type: string; bytes: number }>;
      const map: TensorMap = {};
      for (const m of meta) map[m.name] = toTensor(m.type, m.dims, await this.readBytes(m.bytes));
      return map;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await new Promise((r) => this.child.once('exit', r));
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.child.exitCode !== null) throw new Error(`ort-peer.py exited with ${this.child.exitCode}`);
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  private async readLine(): Promise<Buffer> {
    await this.until(() => this.buffered.includes(10));
    const at = this.buffered.indexOf(10);
    const line = this.buffered.subarray(0, at);
    this.buffered = this.buffered.subarray(at + 1);
    return line;
  }

  private async readBytes(n: number): Promise<Buffer> {
    await this.until(() => this.buffered.length >= n);
    const out = Buffer.from(this.buffered.subarray(0, n));
    this.buffered = this.buffered.subarray(n);
    return out;
  }
}

function toTensor(type: string, dims: number[], bytes: Buffer): TensorData {
  const copy = new Uint8Array(bytes).buffer;
  switch (type) {
    case 'float32':
      return { type: 'float32', dims, data: new Float32Array(copy) };
    case 'int64':
      return { type: 'int64', dims, data: new BigInt64Array(copy) };
    case 'int32':
      return { type: 'int32', dims, data: new Int32Array(copy) };
    default:
      throw new Error(`ort-peer: output type ${type} is not handled`);
  }
}
