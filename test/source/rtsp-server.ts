import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** GStreamer's RTSP server (test/source/fixtures/rtsp-server.py) on 127.0.0.1:port, 320x240 at 20 fps; resolves once it listens. */
export async function startRtspServer(port: number, codec = 'jpeg'): Promise<ChildProcess> {
  const child = spawn('/usr/bin/python3', ['test/source/fixtures/rtsp-server.py', String(port), '320', '240', '20', codec], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`rtsp server exited ${code}`)));
  });
  return child;
}

/** SIGKILL, and wait for the process to be gone. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}
