import { connect } from 'node:net';
import type { SourceConfig } from '../config/schema.js';

export type RtspSourceConfig = Extract<SourceConfig, { type: 'rtsp' }>;

/**
 * The GStreamer pipeline for an RTSP camera. latency=0 turns off rtspsrc's jitter buffer delay
 * (200 ms by default: a line camera's frame must be judged now, not smoothed); decodebin picks the
 * decoder for what the camera sends (JPEG from plugins-good; H.264/H.265 need gstreamer1.0-libav).
 * The appsink keeps only the newest frame, as for GigE.
 */
export function rtspPipeline(s: RtspSourceConfig): string {
  const format = s.channels === 1 ? 'GRAY8' : 'BGR';
  return (
    `rtspsrc location="${s.url}" protocols=${s.transport} latency=0 drop-on-latency=true ! ` +
    `decodebin ! videoconvert ! video/x-raw,format=${format} ! appsink drop=true max-buffers=1 sync=false`
  );
}

/** The URL without its password, for logs and camera status. */
export function redactUrl(url: string): string {
  return url.replace(/^(rtsps?:\/\/[^:@/]+):[^@/]*@/, '$1:***@');
}

/**
 * Whether the camera's RTSP port accepts a connection, checked asynchronously. OpenCV's open is
 * synchronous and an unreachable host holds it for the TCP timeout, so a camera that is off is
 * found out here and retried without blocking the main thread. Resolves the reason, or undefined.
 */
export function probeRtspServer(url: string, timeoutMs = 3000): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port ? Number(u.port) : u.protocol === 'rtsps:' ? 322 : 554;
  } catch {
    return Promise.resolve(`not a valid URL: ${redactUrl(url)}`);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`RTSP server ${host}:${port} did not answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(`RTSP server ${host}:${port} unreachable: ${err.message}`));
  });
}
