import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/source/backoff.js';
import { CaptureClock } from '../../src/source/capture-clock.js';
import { toMat } from '../../src/source/camera-process.js';
import { encodeMessage, FramePipeReader, type CameraMessage } from '../../src/source/frame-pipe.js';
import { globMatcher } from '../../src/source/glob.js';

describe('replay file filter (glob)', () => {
  const pick = (pattern: string, paths: string[]) => paths.filter(globMatcher(pattern));
  const tree = ['a.png', 'b.jpg', 'day1/part-1.png', 'day1/part-2.PNG', 'day2/cam1/part-3.png', 'day2/skip.png'];

  it('matches the file name alone when the pattern has no slash', () => {
    expect(pick('*.png', tree)).toEqual(['a.png', 'day1/part-1.png', 'day2/cam1/part-3.png', 'day2/skip.png']);
    expect(pick('part-?.{png,PNG}', tree)).toEqual(['day1/part-1.png', 'day1/part-2.PNG', 'day2/cam1/part-3.png']);
    expect(pick('[ab].*', tree)).toEqual(['a.png', 'b.jpg']);
    expect(pick('[!a]*', tree)).toEqual(['b.jpg', 'day1/part-1.png', 'day1/part-2.PNG', 'day2/cam1/part-3.png', 'day2/skip.png']);
  });

  it('matches the relative path when it has one: * stays in a folder, ** crosses folders', () => {
    expect(pick('day1/*', tree)).toEqual(['day1/part-1.png', 'day1/part-2.PNG']);
    expect(pick('day2/*.png', tree)).toEqual(['day2/skip.png']);
    expect(pick('day2/**/*.png', tree)).toEqual(['day2/cam1/part-3.png', 'day2/skip.png']);
    expect(pick('**/part-*.png', tree)).toEqual(['day1/part-1.png', 'day2/cam1/part-3.png']);
  });

  it('takes regex characters in names literally', () => {
    expect(pick('a+(1).png', ['a+(1).png', 'aa(1).png'])).toEqual(['a+(1).png']);
  });
});

describe('reconnect back-off', () => {
  it('doubles up to the cap, each delay jittered within [d/2, d], and starts over after a success', () => {
    const lowest = new Backoff(500, 10_000, () => 0);
    const highest = new Backoff(500, 10_000, () => 1);
    expect([...Array(7)].map(() => lowest.next())).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect([...Array(7)].map(() => highest.next())).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    highest.reset();
    expect(highest.next()).toBe(500);
  });
});

describe('capture clock', () => {
  it('dates a frame that waited in the buffer by its pipeline timestamp, not by when it was read', () => {
    const clock = new CaptureClock();
    // Frames every 50 ms of pipeline time; wall = pts + 1000 when read at once.
    expect(clock.stamp(1050, 50)).toBe(1050);
    expect(clock.stamp(1100, 100)).toBe(1100);
    // This one sat 40 ms in the buffer while the main thread was busy.
    expect(clock.stamp(1190, 150)).toBe(1150);
    // Never later than the read; no timestamp: the read time.
    expect(clock.stamp(1300, undefined)).toBe(1300);
    // A new pipeline (timestamps start over) forgets the old offset.
    expect(clock.stamp(5020, 20)).toBe(5020);
  });
});

describe('camera process wire (frame pipe)', () => {
  it('cuts messages out of the byte stream however it is chunked, pixels intact', () => {
    const pixels = Buffer.from([...Array(12).keys()]);
    const bytes = Buffer.concat([
      ...encodeMessage({ kind: 'up', openMs: 120 }),
      ...encodeMessage({ kind: 'frame', width: 4, height: 3, pixelFormat: 'Mono8', capturedAt: 17.5 }, pixels),
      ...encodeMessage({ kind: 'down', reason: 'gone' }),
    ]);
    for (const step of [1, 3, 7, bytes.length]) {
      const got: CameraMessage[] = [];
      const reader = new FramePipeReader((m) => got.push(m));
      for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
      expect(got.map((m) => m.kind)).toEqual(['up', 'frame', 'down']);
      const frame = got[1] as Extract<CameraMessage, { kind: 'frame' }>;
      expect([...frame.pixels]).toEqual([...pixels]);
      expect(frame.capturedAt).toBe(17.5);
    }
  });

  it('refuses a stream that is not the protocol (a stray print on stdout)', () => {
    const reader = new FramePipeReader(() => undefined);
    expect(() => reader.push(Buffer.from('Traceback (most recent call last):\n'))).toThrow(/not a frame-pipe stream/);
  });

  it('turns RGB8 and BayerRG8 pixels into BGR with the colours where they were', () => {
    // A red scene: RGB8 pixels (200, 0, 0); as BayerRG8 (R G / G B from the top left) every R site is 200.
    const rgb = Buffer.alloc(4 * 4 * 3);
    for (let i = 0; i < 16; i++) rgb[i * 3] = 200;
    const bayer = Buffer.alloc(4 * 4);
    for (let y = 0; y < 4; y += 2) for (let x = 0; x < 4; x += 2) bayer[y * 4 + x] = 200;
    for (const m of [toMat(rgb, 4, 4, 'RGB8'), toMat(bayer, 4, 4, 'BayerRG8')]) {
      expect(m.channels).toBe(3);
      // BGR: red is the third channel.
      const px = m.at(1, 1) as unknown as { x: number; y: number; z: number };
      expect([px.x, px.y, px.z]).toEqual([0, 0, 200]);
      m.release();
    }
    expect(() => toMat(Buffer.alloc(10), 4, 4, 'Mono8')).toThrow(/10 bytes is not 4x4 Mono8/);
  });
});
