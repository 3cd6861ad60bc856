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

/**
 * Cuts a byte stream into messages, whatever the chunking. A frame's pixels are copied into their
 * own buffer chunk by chunk as they arrive (64 KB reads from a pipe), so a 5 MP frame costs the main
 * thread many small copies between other work, not one 5 MB copy when its last byte comes.
 */
export class FramePipeReader {
  private head: Buffer = Buffer.alloc(0);
  /** The message being read: its header, and its payload filled so far. */
  private current: { header: Record<string, unknown>; payload: Buffer; filled: number } | undefined;

  constructor(private readonly onMessage: (m: CameraMessage) => void) {}

  /** Feeds bytes; throws when the stream is not this protocol. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.current) {
        const cur = this.current;
        const n = Math.min(cur.payload.length - cur.filled, chunk.length - at);
        chunk.copy(cur.payload, cur.filled, at, at + n);
        cur.filled += n;
        at += n;
        if (cur.filled === cur.payload.length) this.deliver();
        continue;
      }
      // Lengths and header: small, gathered until whole.
      this.head = this.head.length ? Buffer.concat([this.head, chunk.subarray(at)]) : chunk.subarray(at);
      at = chunk.length;
      if (this.head.length < HEAD) return;
      const headLen = this.head.readUInt32LE(0);
      const payloadLen = this.head.readUInt32LE(4);
      if (headLen > MAX_HEADER) throw new Error(`camera process wrote ${headLen} header bytes: not a frame-pipe stream`);
      if (this.head.length < HEAD + headLen) return;
      const header = JSON.parse(this.head.toString('utf8', HEAD, HEAD + headLen)) as Record<string, unknown>;
      // The rest of this chunk (payload, maybe the next message) is read again from the top.
      const rest = this.head.subarray(HEAD + headLen);
      this.head = Buffer.alloc(0);
      this.current = { header, payload: Buffer.allocUnsafe(payloadLen), filled: 0 };
      if (payloadLen === 0) this.deliver();
      if (rest.length) this.push(rest);
      return;
    }
  }

  private deliver(): void {
    const { header, payload } = this.current!;
    this.current = undefined;
    this.onMessage((header.kind === 'frame' ? { ...header, pixels: payload } : header) as CameraMessage);
  }
}
