import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { opencv, type Mat } from '../preprocess/opencv.js';
import { Backoff } from './backoff.js';
import { CameraState } from './camera-state.js';
import { FramePipeReader, type CameraCommand, type CameraMessage, type WirePixelFormat } from './frame-pipe.js';
import type { Frame, FrameSource, SourceEvents } from './frame.js';

export interface CameraProcessOptions {
  camera: string;
  /** The camera process to run (argv[0] and arguments); it speaks frame-pipe.ts on stdout/stdin. */
  command: string;
  args: string[];
  /** What logs and camera status call the camera when the process says nothing better. */
  label: string;
  partIds: boolean;
  /** Back-off between attempts to open the camera (the process asks for each with `open`) and between restarts of a process that died. */
  reconnect: { initialMs: number; maxMs: number };
  /** The camera takes a frame when asked (TriggerSoftware): trigger() asks the process for one. */
  triggerable?: boolean;
  /** After `down` the process waits for `open` (the Aravis helper); without it, the process retries on its own (OpenCvCamera's back-off). */
  waitsForOpen?: boolean;
}

/** How long stop() lets the process release its camera before killing it. */
const STOP_WAIT_MS = 3000;
/** Lines of a process's stderr kept to explain an exit that said nothing on the pipe. */
const STDERR_LINES = 5;

/**
 * A camera run in a process of its own (the Aravis helper for GigE, OpenCV's VideoCapture for the
 * rest), so that opening it, which takes 100-500 ms and blocks whichever thread does it, never holds
 * the daemon's main thread and its deadline timers. Frames arrive as raw pixels over a pipe and
 * become Mats here; the process sends the next only when this one has been handed over (a `ready`
 * credit), and a free-running process keeps only the newest meanwhile, so a busy main thread judges
 * fresh frames. The process reports up/down itself and lives as long as the daemon: a camera that
 * drops is reopened inside it (after this side's capped, jittered back-off: an `open` command), because
 * starting a process forks the daemon, which holds the main thread for 2-150 ms on a busy machine
 * (measured here), once per camera at start. A process that dies is restarted after the back-off. It
 * never fails start.
 */
export class CameraProcess implements FrameSource {
  readonly camera: string;
  private child: ChildProcess | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private frameId = 0;
  private wake: (() => void) | undefined;
  private state: CameraState | undefined;
  private up = false;

  constructor(
    private readonly opts: CameraProcessOptions,
    private readonly log: Logger,
  ) {
    this.camera = opts.camera;
  }

  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void, events?: SourceEvents): Promise<void> {
    this.running = true;
    // Loaded now, not on the first frame: loading OpenCV takes a second or more on a busy machine.
    opencv();
    this.state = new CameraState(this.log, events);
    this.loop = this.run(onFrame, onError, this.state);
  }

  /** A software trigger: the process executes TriggerSoftware at once. Ignored while the camera is down (the part gets TIMEOUT). */
  get trigger(): (() => void) | undefined {
    if (!this.opts.triggerable) return undefined;
    return () => {
      if (this.up) this.send({ cmd: 'trigger' });
    };
  }

  private send(command: CameraCommand): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(JSON.stringify(command) + '\n');
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(onFrame: (frame: Frame) => void, onError: (err: Error) => void, state: CameraState): Promise<void> {
    const backoff = new Backoff(this.opts.reconnect.initialMs, this.opts.reconnect.maxMs);
    while (this.running) {
      const reason = await this.runOnce(onFrame, onError, state, backoff);
      if (!this.running) break;
      state.down(reason);
      const delayMs = backoff.next();
      this.log.debug({ reason, retryInMs: delayMs }, 'camera process restart');
      await this.pause(delayMs);
    }
  }

  /** Runs the camera process until it exits; resolves why. */
  private runOnce(onFrame: (frame: Frame) => void, onError: (err: Error) => void, state: CameraState, backoff: Backoff): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn(this.opts.command, this.opts.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      let said: string | undefined;
      let reopen: NodeJS.Timeout | undefined;
      const stderr: string[] = [];
      const reader = new FramePipeReader((m) => {
        if (m.kind === 'down' && this.opts.waitsForOpen) {
          said = m.reason;
          // The process waits for `open`; the delay between attempts is kept here, in one place.
          clearTimeout(reopen);
          const delayMs = backoff.next();
          this.log.debug({ reason: m.reason, retryInMs: delayMs }, 'camera retry');
          reopen = setTimeout(() => this.send({ cmd: 'open' }), delayMs);
        }
        this.handle(m, onFrame, onError, state, backoff);
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (err) {
          said = `${this.opts.label}: ${(err as Error).message}`;
          child.kill('SIGKILL');
        }
      });
      child.stderr!.setEncoding('utf8').on('data', (text: string) => {
        stderr.push(...text.split('\n').filter((l) => l.trim()));
        stderr.splice(0, Math.max(0, stderr.length - STDERR_LINES));
      });
      // A write to a process that just died; its exit says what happened.
      child.stdin!.on('error', () => undefined);
      child.once('error', (err) => {
        said = `cannot start the camera process for ${this.opts.label} (${this.opts.command}): ${err.message}`;
      });
      child.once('close', (code, signal) => {
        clearTimeout(reopen);
        this.child = undefined;
        this.up = false;
        resolve(said ?? `camera process for ${this.opts.label} ended (${signal ?? `exit ${code}`})${stderr.length ? `: ${stderr.at(-1)}` : ''}`);
      });
    });
  }

  /** One message from the process. */
  private handle(m: CameraMessage, onFrame: (frame: Frame) => void, onError: (err: Error) => void, state: CameraState, backoff: Backoff): void {
    switch (m.kind) {
      case 'up':
        this.up = true;
        this.log.debug({ device: this.opts.label, openMs: m.openMs, width: m.width, height: m.height, pixelFormat: m.pixelFormat }, 'camera opened');
        state.up();
        backoff.reset();
        return;
      case 'down':
        this.up = false;
        state.down(m.reason);
        return;
      case 'error':
        onError(new Error(m.message));
        return;
      case 'frame': {
        if (!this.running) return;
        let image: Mat;
        try {
          image = toMat(m.pixels, m.width, m.height, m.pixelFormat);
        } catch (err) {
          onError(err as Error);
          this.send({ cmd: 'ready' });
          return;
        }
        const frameId = this.frameId++;
        try {
          onFrame({ camera: this.camera, frameId, capturedAt: m.capturedAt, partId: this.opts.partIds ? `${this.camera}-${frameId}` : null, image });
        } catch (err) {
          onError(err as Error);
        }
        // Handed over: the process may send the next (the newest it has by now).
        this.send({ cmd: 'ready' });
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    const child = this.child;
    if (child) {
      // Closing stdin asks the process to release the camera and exit; it is killed if it does not.
      child.stdin?.end();
      const gone = new Promise<void>((r) => child.once('close', () => r()));
      const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_WAIT_MS);
      await gone;
      clearTimeout(killTimer);
    }
    await this.loop;
    this.state?.stopped();
  }
}

/** Raw pixels as the Mat the pipeline takes: mono stays mono, colour becomes BGR. */
export function toMat(pixels: Buffer, width: number, height: number, format: WirePixelFormat): Mat {
  const cv = opencv();
  const channels = format === 'BGR8' || format === 'RGB8' ? 3 : 1;
  if (pixels.length !== width * height * channels) {
    throw new Error(`frame of ${pixels.length} bytes is not ${width}x${height} ${format}`);
  }
  const raw = new cv.Mat(pixels, height, width, channels === 3 ? cv.CV_8UC3 : cv.CV_8UC1);
  if (format === 'Mono8' || format === 'BGR8') return raw;
  // OpenCV names Bayer patterns by the second row's second and third pixels: GenICam's BayerRG
  // (R G / G B from the top left) is OpenCV's BayerBG.
  const bgr = raw.cvtColor(format === 'RGB8' ? cv.COLOR_RGB2BGR : cv.COLOR_BayerBG2BGR);
  raw.release();
  return bgr;
}
