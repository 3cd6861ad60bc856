import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/source/backoff.js';
import { CaptureClock } from '../../src/source/capture-clock.js';
import { gigePipeline } from '../../src/source/gige.js';
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

describe('GigE pipeline', () => {
  it('asks the camera for format, size, rate, exposure and resend, and keeps one frame', () => {
    const p = gigePipeline({ type: 'gige', cameraName: 'Basler-acA1300-22gm-21234567', pixelFormat: 'bayerrg8', width: 1280, height: 960, fps: 7.5, exposureUs: 800, packetSize: 8192, packetResend: true, reconnect: { initialMs: 500, maxMs: 10_000 } });
    expect(p).toBe(
      'aravissrc camera-name="Basler-acA1300-22gm-21234567" exposure=800 packet-size=8192 packet-resend=true ! video/x-bayer,format=rggb,width=1280,height=960,framerate=7500/1000 ! bayer2rgb ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false',
    );
  });
});
