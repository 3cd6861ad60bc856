import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, syntheticConfig, tempDir, waitFor, writeConfig } from '../ops/helpers.js';
import { FirefoxPage } from './firefox.js';
import { hotCellsOutside, liveMapView, mapOnScreenshots, type Box } from './helpers.js';

/**
 * The operator page in Debian's Firefox ESR at tablet width (768×1024, portrait), against the daemon
 * as a child process: one synthetic camera, the synthetic-line model (an anomaly map), a real
 * mosquitto and SQLite file, the archive on, a token file. Clicks and typing are pointer and key
 * input over WebDriver BiDi (firefox.ts says why not playwright-core). Checked against the log.
 */
const TOKEN = 'firefox-test-token-91c2';

let broker: TestBroker;
let daemon: DaemonProcess;
let base: string;
let db: string;
let ff: FirefoxPage;

function rows<T>(sql: string, ...params: unknown[]): T[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

function loggedBoxes(seq: number): Box[] {
  const row = rows<{ verdict: string; defects: string }>(`SELECT verdict, defects FROM verdicts WHERE seq = ?`, seq)[0]!;
  expect(row.verdict).toBe('FAIL');
  return (JSON.parse(row.defects) as { box?: Box }[]).flatMap((d) => (d.box ? [d.box] : []));
}

beforeAll(async () => {
  broker = await TestBroker.start();
  const dir = tempDir('page-firefox');
  db = join(dir, 'verdicts.db');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const cfg = syntheticConfig({ dir, fps: 3, deadlineMs: 1000, defectRate: 0.5 }).concat(['archive: { enabled: true }', 'http: { tokenFile: ./token }', 'page: { updateHz: 2 }', ''].join('\n'));
  daemon = DaemonProcess.start(writeConfig(dir, cfg), ['--broker', broker.url, '--http', '127.0.0.1:0']);
  base = await daemon.httpBase();
  await waitFor('the daemon to start inspecting', () => daemon.logs.some((l) => l.msg === 'inspectd running'), 60_000);
  await waitFor('a few FAILs', () => rows<{ n: number }>(`SELECT COUNT(*) AS n FROM verdicts WHERE verdict = 'FAIL'`)[0]!.n >= 3, 60_000);
  ff = await FirefoxPage.launch({ width: 768, height: 1024 });
}, 90_000);

afterAll(async () => {
  await ff?.close();
  daemon?.kill();
  await broker?.stop();
}, 60_000);

describe('the operator page in Firefox ESR at tablet width', () => {
  it('shows live verdicts, and a FAIL with its boxes and defect map on the defect at the displayed scale', async () => {
    await ff.goto(base);
    await ff.waitFor('the live stream', () => document.querySelector('.conn.live') !== null);
    const shown = await ff.waitFor('a FAIL with boxes and its defect map on the live view', liveMapView, 'cam1', 30_000);
    const boxes = loggedBoxes(shown.seq);
    expect(shown.img.naturalWidth).toBe(640);
    // Tablet portrait, one camera: the frame is scaled to the card's width (not shown at its own pixels).
    expect(Math.abs(shown.img.width - 640)).toBeGreaterThan(10);
    expect(shown.boxes).toHaveLength(boxes.length);
    const sx = shown.img.width / 640;
    const sy = shown.img.height / 512;
    boxes.forEach(([x, y, w, h], i) => {
      const b = shown.boxes[i]!;
      expect(Math.abs(b.left - (shown.img.left + x * sx))).toBeLessThan(1.5);
      expect(Math.abs(b.top - (shown.img.top + y * sy))).toBeLessThan(1.5);
      expect(Math.abs(b.width - w * sx)).toBeLessThan(1.5);
      expect(Math.abs(b.height - h * sy)).toBeLessThan(1.5);
    });
    for (const k of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(shown.map[k] - shown.img[k]), k).toBeLessThan(1);
    expect([shown.cells.width, shown.cells.height]).toEqual([40, 32]);
    expect(hotCellsOutside(shown.cells, boxes, { width: 640, height: 512 })).toBe(0);
    expect(Math.max(...shown.cells.alpha)).toBeGreaterThan(60);
  });

  it('filters the review to the log\'s FAILs, marks one with the token (not without), and draws its map on the defect', async () => {
    await ff.click('#tab-review');
    await ff.waitFor('the review strip', () => (document.getElementById('review-count')?.textContent ?? '') !== '');
    const cutoff = Date.now() - 1000;
    await ff.click('input[name=verdict][value=TIMEOUT]');
    await ff.click('input[name=verdict][value=ERROR]');
    // datetime-local, local time to the second (set, not typed: its keyboard entry is locale-shaped).
    const local = new Date(cutoff - new Date(cutoff).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await ff.evaluate((v: string) => {
      document.querySelector<HTMLInputElement>('input[name=until]')!.value = v;
    }, local);
    await ff.click('#review-filter button[type=submit]');
    const until = Math.floor(cutoff / 1000) * 1000;
    const expected = rows<{ seq: number }>(`SELECT seq FROM verdicts WHERE verdict = 'FAIL' AND decided_at < ? ORDER BY decided_at DESC, seq DESC`, until).map((r) => r.seq);
    expect(expected.length).toBeGreaterThan(0);
    const shown = await ff.waitFor(
      'the filtered strip',
      (want: number[]) => {
        const seqs = [...document.querySelectorAll<HTMLElement>('.thumb')].map((t) => Number(t.dataset.seq));
        return seqs.length === want.length && seqs.every((s, i) => s === want[i]) ? seqs : undefined;
      },
      expected,
    );
    expect(shown).toEqual(expected);

    const seq = expected[0]!;
    await ff.click(`.thumb[data-seq="${seq}"]`);
    await ff.waitFor('the detail', (s: number) => document.querySelector(`#review-detail[data-seq="${s}"] .mark-bar`) !== null, seq);
    // Without the token the page asks; cancelling writes nothing.
    await ff.click('#review-detail .mark-false-reject');
    await ff.waitFor('the token dialog', () => document.querySelector('#token-dialog[open]') !== null);
    await ff.click('#token-dialog button[value=cancel]');
    await ff.waitFor('the refusal', () => document.querySelector('#review-detail .mark-status')?.textContent?.includes('needs the token'));
    expect(rows<{ review: string | null }>(`SELECT review FROM verdicts WHERE seq = ?`, seq)[0]!.review).toBeNull();
    // With the token typed in, the mark is in the log.
    await ff.click('#review-detail .mark-false-reject');
    await ff.waitFor('the token dialog', () => document.querySelector('#token-dialog[open]') !== null);
    await ff.type('#token-input', TOKEN);
    await ff.click('#token-ok');
    await waitFor('the mark in the log', () => rows<{ review: string | null }>(`SELECT review FROM verdicts WHERE seq = ?`, seq)[0]!.review === 'false-reject' || undefined, 10_000);

    // The archived map over the full image: red on its hottest cell, nothing on a clear one.
    await ff.waitFor('the archived map', () => {
      const m = document.querySelector<HTMLImageElement>('#review-detail .review-full img.defect-map');
      return m !== null && m.complete && m.naturalWidth > 0;
    });
    const withMap = await ff.screenshot('#review-detail .review-full');
    await ff.evaluate(() => document.querySelector<HTMLElement>('#review-detail .review-full img.defect-map')!.style.setProperty('visibility', 'hidden'));
    const withoutMap = await ff.screenshot('#review-detail .review-full');
    const seen = mapOnScreenshots(Buffer.from(await (await fetch(`${base}/api/review/${seq}/map`)).arrayBuffer()), withMap, withoutMap);
    expect(hotCellsOutside(seen.alpha, loggedBoxes(seq), { width: 640, height: 512 })).toBe(0);
    expect(seen.hottestAlpha).toBeGreaterThan(60);
    expect(seen.redGainAtHottest).toBeGreaterThan(40);
    expect(seen.changeAtClear).toBeLessThan(12);
  });
});
