/**
 * The wire between a camera process and the daemon: each message is a u32 LE header length, a u32 LE
 * payload length, the header (JSON) and the payload (raw pixels, row-major, no padding). Written by
 * the Aravis helper (aravis-camera.py) and the OpenCV capture process (capture-process.ts); read by
 * CameraProcess. Raw frames, not encoded ones: a pipe moves hundreds of MB/s, and encoding would cost
 * more CPU than copying.
 */

/** Pixel layouts on the wire, by their GenICam names; the daemon turns each into mono or BGR. */
export type WirePixelFormat = 'Mono8' | 'BGR8' | 'RGB8' | 'BayerRG8';

export type CameraMessage =
  /** Delivering: frames (or, triggered, frames on request) follow. */
  | { kind: 'up'; openMs?: number; width?: number; height?: number; pixelFormat?: string; triggered?: boolean }
  | { kind: 'frame'; width: number; height: number; pixelFormat: WirePixelFormat; capturedAt: number; pixels: Buffer }
  /** A problem the camera survives (a refused trigger, a torn frame). */
  | { kind: 'error'; message: string }
  /** The camera cannot deliver, and why (the process may exit after it, or retry itself). */
  | { kind: 'down'; reason: string };

/** What the daemon asks of a camera process, one JSON line each on its stdin (`open`: try the camera again, after the daemon's back-off; a process that retries on its own ignores it). */
export type CameraCommand = { cmd: 'trigger' } | { cmd: 'ready' } | { cmd: 'open' };

const HEAD = 8;
/** A header longer than this is not one of ours (a stray print on stdout): the stream is unusable. */
const MAX_HEADER = 64 * 1024;

/** One message as bytes, for a writer in JavaScript (the capture process). */
export function encodeMessage(header: Record<string, unknown>, payload?: Buffer): Buffer[] {
  const head = Buffer.from(JSON.stringify(header));
  const lengths = Buffer.alloc(HEAD);
  lengths.writeUInt32LE(head.length, 0);
  lengths.writeUInt32LE(payload?.length ?? 0, 4);
  return payload ? [lengths, head, payload] : [lengths, head];
}

/** Cuts a byte stream into messages, whatever the chunking. */
export class FramePipeReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly onMessage: (m: CameraMessage) => void) {}

  /** Feeds bytes; throws when the stream is not this protocol. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < HEAD) return;
      const lengths = this.peek(HEAD);
      const headLen = lengths.readUInt32LE(0);
      const payloadLen = lengths.readUInt32LE(4);
      if (headLen > MAX_HEADER) throw new Error(`camera process wrote ${headLen} header bytes: not a frame-pipe stream`);
      if (this.buffered < HEAD + headLen + payloadLen) return;
      const all = this.take(HEAD + headLen + payloadLen);
      const header = JSON.parse(all.toString('utf8', HEAD, HEAD + headLen)) as Record<string, unknown>;
      const message = header.kind === 'frame' ? { ...header, pixels: all.subarray(HEAD + headLen) } : header;
      this.onMessage(message as CameraMessage);
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
