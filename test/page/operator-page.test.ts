import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, sleep, syntheticConfig, tempDir, waitFor, writeConfig } from '../ops/helpers.js';
import { hotCellsOutside, launchChromium, liveMapView, mapOnScreenshots, readEvents, type Box } from './helpers.js';

/**
 * The operator page in a real browser (Debian's Chromium through playwright-core) against the
 * daemon as a child process: two synthetic cameras, the synthetic-line model, a real mosquitto and
 * SQLite file, the reject archive on, a token file. What the page shows is checked against what
 * the daemon wrote to its log, read here with SQLite, never against the page's own data.
 */
const TOKEN = 'page-test-token-7f3a';
const UPDATE_HZ = 2;

let broker: TestBroker;
let daemon: DaemonProcess;
let base: string;
let dir: string;
let db: string;
let cfgPath: string;
let cfgText: string;
let ctx: BrowserContext;
let page: Page;
const shots = join(tempDir('page-shots'));

interface Row {
  seq: number;
  camera: string;
  verdict: string;
  defects: string;
  decided_at: number;
  review: string | null;
}
function rows(sql: string, ...params: unknown[]): Row[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare(sql).all(...params) as Row[];
  } finally {
    d.close();
  }
}

function loggedBoxes(seq: number): Box[] {
  const row = rows(`SELECT * FROM verdicts WHERE seq = ?`, seq)[0]!;
  expect(row.verdict).toBe('FAIL');
  return (JSON.parse(row.defects) as { box?: Box }[]).flatMap((d) => (d.box ? [d.box] : []));
}

async function shot(name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  // INSPECTD_PAGE_SCREENSHOTS=docs/img refreshes the committed screenshots.
  const keep = process.env.INSPECTD_PAGE_SCREENSHOTS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    copyFileSync(path, join(keep, `${name}.png`));
  }
}

beforeAll(async () => {
  broker = await TestBroker.start();
  dir = tempDir('page');
  db = join(dir, 'verdicts.db');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const cfg = syntheticConfig({ dir, fps: 3, deadlineMs: 1000, defectRate: 0.5 })
    .replace('storage:\n', '  - name: cam2\n    partId: frame\n    source: { type: synthetic, fps: 3, defectRate: 0.5, seed: 77 }\nstorage:\n')
    .concat(['archive: { enabled: true }', 'http: { tokenFile: ./token }', `page: { updateHz: ${UPDATE_HZ} }`, ''].join('\n'));
  cfgText = cfg;
  cfgPath = writeConfig(dir, cfg);
  daemon = DaemonProcess.start(cfgPath, ['--broker', broker.url, '--http', '127.0.0.1:0']);
  base = await daemon.httpBase();
  // Enough rejects of both cameras for the review, archived images included.
  // The HTTP server listens before the model loads and the log exists: wait for the daemon's first verdicts.
  await waitFor('the daemon to start inspecting', () => daemon.logs.some((l) => l.msg === 'inspectd running'), 60_000);
  await waitFor('rejects of both cameras', () => rows(`SELECT camera FROM verdicts WHERE verdict = 'FAIL' GROUP BY camera HAVING COUNT(*) >= 3`).length === 2, 60_000);
  ctx = await launchChromium({ width: 1024, height: 768 });
  page = await ctx.newPage();
}, 90_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  daemon?.kill();
  await broker?.stop();
}, 60_000);

describe('the live view', () => {
  it('shows each camera verdict as it is decided, with counters, model and line state', async () => {
    await page.goto(base);
    await page.waitForSelector('.conn.live');
    for (const cam of ['cam1', 'cam2']) {
      const verdict = page.locator(`.camera[data-camera=${cam}] .verdict`);
      await expect.poll(async () => verdict.textContent(), { timeout: 15_000 }).toMatch(/^(PASS|FAIL|TIMEOUT|ERROR)$/);
    }
    // The shown verdict is a recent one from the log, not a stale first picture.
    // (The verdict's text comes with the update; its frame, and the overlay's seq, once the JPEG has loaded.)
    const overlay = page.locator('.camera[data-camera=cam1] .overlay');
    await expect.poll(async () => Number((await overlay.getAttribute('data-seq')) ?? 0), { timeout: 15_000 }).toBeGreaterThan(0);
    const shownSeq = Number(await overlay.getAttribute('data-seq'));
    const newest = rows(`SELECT MAX(seq) AS seq FROM verdicts WHERE camera = 'cam1'`)[0]!.seq;
    expect(shownSeq).toBeGreaterThan(0);
    expect(newest - shownSeq).toBeLessThan(10);
    // Shift counters agree with the log (to within what was decided between the two reads).
    const shiftRow = page.locator('.camera[data-camera=cam1] .counts tr').nth(1);
    const shownPass = Number(await shiftRow.locator('td').nth(0).textContent());
    const logged = rows(`SELECT COUNT(*) AS seq FROM verdicts WHERE camera = 'cam1' AND verdict = 'PASS'`)[0]!.seq;
    expect(Math.abs(logged - shownPass)).toBeLessThanOrEqual(3);
    await expect.poll(async () => page.locator('.badge[data-name=broker] .v').textContent()).toBe('connected');
    expect(await page.locator('.badge[data-name=storage] .v').textContent()).toBe('ok');
    expect(await page.locator('.camera[data-camera=cam1] .facts').textContent()).toContain('synthetic-line');
    // The histogram is drawn (uPlot's canvas).
    expect(await page.locator('.camera[data-camera=cam1] .chart canvas').count()).toBeGreaterThan(0);
  });

  it('draws a defective frame\'s boxes on the defects, as the log has them, at the displayed scale', async () => {
    // Wait for a FAIL with located defects on cam1's live frame; read its geometry in the same
    // evaluation, since the next update may replace the frame at any moment.
    const geometry = await waitFor(
      'a FAIL with boxes on the live view',
      () =>
        page.evaluate(() => {
          const layer = document.querySelector<HTMLElement>('.camera[data-camera=cam1] .overlay');
          const boxes = [...(layer?.querySelectorAll<HTMLElement>('.defect-box') ?? [])];
          if (!layer || boxes.length === 0) return undefined;
          const img = layer.parentElement!.querySelector('img')!;
          const r = img.getBoundingClientRect();
          return {
            seq: Number(layer.dataset.seq),
            img: { left: r.left, top: r.top, width: r.width, height: r.height, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight },
            boxes: boxes.map((b) => {
              const br = b.getBoundingClientRect();
              return { left: br.left, top: br.top, width: br.width, height: br.height };
            }),
          };
        }),
      30_000,
    );
    const seq = geometry.seq;
    const row = rows(`SELECT * FROM verdicts WHERE seq = ?`, seq)[0]!;
    expect(row.verdict).toBe('FAIL');
    const logged = (JSON.parse(row.defects) as { box?: [number, number, number, number] }[]).filter((d) => d.box);
    // The frame is shown at its own pixel size scaled to the card: the JPEG is the camera's 640x512.
    expect(geometry.img.naturalWidth).toBe(640);
    expect(geometry.img.naturalHeight).toBe(512);
    expect(geometry.img.width).toBeLessThan(640);
    expect(geometry.boxes).toHaveLength(logged.length);
    const sx = geometry.img.width / geometry.img.naturalWidth;
    const sy = geometry.img.height / geometry.img.naturalHeight;
    logged.forEach((d, i) => {
      const [x, y, w, h] = d.box!;
      const b = geometry.boxes[i]!;
      expect(Math.abs(b.left - (geometry.img.left + x * sx))).toBeLessThan(1.5);
      expect(Math.abs(b.top - (geometry.img.top + y * sy))).toBeLessThan(1.5);
      expect(Math.abs(b.width - w * sx)).toBeLessThan(1.5);
      expect(Math.abs(b.height - h * sy)).toBeLessThan(1.5);
    });
    await shot('live-1024x768');
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.waitForTimeout(600);
    await shot('live-768x1024');
    await page.setViewportSize({ width: 1024, height: 768 });
  });

  it('draws an anomaly-map model\'s defect map over a FAIL\'s frame: the whole frame, hot where the logged defects are', async () => {
    // The map as the page loaded it: its place on screen and its pixels (read back through a canvas),
    // with the frame's, in one evaluation (the next update may replace both).
    const shown = await waitFor('a FAIL with its defect map on the live view', () => page.evaluate(liveMapView, 'cam1'), 30_000);
    expect(shown.src).toBe(`/api/live/map/cam1?seq=${shown.seq}`);
    const boxes = loggedBoxes(shown.seq);
    // The boxes are still drawn, above the map.
    expect(shown.boxes).toHaveLength(boxes.length);
    expect(boxes.length).toBeGreaterThan(0);
    // The map covers exactly the frame as displayed.
    for (const k of ['left', 'top', 'width', 'height'] as const) expect(Math.abs(shown.map[k] - shown.img[k]), k).toBeLessThan(1);
    // synthetic-line's map is 40x32 cells over a 640x512 frame (stretch): one pixel per cell.
    expect([shown.cells.width, shown.cells.height]).toEqual([40, 32]);
    // Hot where the decoder found the defects: no cell at the threshold outside the logged boxes.
    expect(hotCellsOutside(shown.cells, boxes, { width: shown.img.naturalWidth, height: shown.img.naturalHeight })).toBe(0);
    // Cold cells are drawn clear: most of the frame shows through.
    expect(shown.cells.alpha.filter((a) => a === 0).length).toBeGreaterThan(shown.cells.alpha.length / 2);
    expect(Math.max(...shown.cells.alpha)).toBeGreaterThan(60);
  });

  it('pushes updates at page.updateHz whatever the frame rate, and each frame is encoded once for all pages', async () => {
    const from = Date.now();
    const events = await readEvents(`${base}/api/live`, 3000);
    const updates = events.filter((e) => e.event === 'update');
    // The first update at connect, then one per tick: 2 Hz for 3 s is 6 (+1)...
    expect(updates.length).toBeGreaterThanOrEqual(3 * UPDATE_HZ - 2);
    expect(updates.length).toBeLessThanOrEqual(3 * UPDATE_HZ + 2);
    // ...while the two cameras decided about three times as many verdicts: not one push per frame.
    const decided = rows(`SELECT seq FROM verdicts WHERE decided_at >= ? AND decided_at < ?`, from, from + 3000).length;
    expect(decided).toBeGreaterThanOrEqual(2 * updates.length);
    // The shown frame changes at most once per update, and it does change.
    const frameUrls = new Set(updates.map((u) => (JSON.parse(u.data) as { cameras: { frameUrl: string | null }[] }).cameras[0]!.frameUrl).filter(Boolean));
    expect(frameUrls.size).toBeGreaterThanOrEqual(2);
    expect(frameUrls.size).toBeLessThanOrEqual(updates.length);
    // Two pages asking for the frame shown now get the same bytes (one encode, shared); a frame no
    // longer shown is gone (410), never another frame under its URL.
    const same = await waitFor('two fetches of one shown frame', async () => {
      const latest = (await readEvents(`${base}/api/live`, 300)).at(-1)!;
      const url = (JSON.parse(latest.data) as { cameras: { frameUrl: string | null }[] }).cameras[0]!.frameUrl!;
      const [a, b] = await Promise.all([fetch(base + url), fetch(base + url)]);
      if (a.status !== 200 || b.status !== 200) return undefined;
      expect(a.headers.get('content-type')).toBe('image/jpeg');
      expect(a.headers.get('x-inspectd-seq')).toBe(new URL(base + url).searchParams.get('seq'));
      return { url, a: Buffer.from(await a.arrayBuffer()), b: Buffer.from(await b.arrayBuffer()) };
    }, 15_000);
    expect(same.a.equals(same.b)).toBe(true);
    await waitFor('the next frame shown', async () => ((await fetch(base + same.url)).status === 410 ? true : undefined), 10_000);
  });
});

describe('the review', () => {
  async function openReview(): Promise<void> {
    await page.click('#tab-review');
    await page.waitForSelector('#review-count:not(:empty)');
  }
  async function thumbs(): Promise<{ seq: number; camera: string; verdict: string }[]> {
    return page.$$eval('.thumb', (els) => els.map((e) => ({ seq: Number((e as HTMLElement).dataset.seq), camera: (e as HTMLElement).dataset.camera!, verdict: (e as HTMLElement).dataset.verdict! })));
  }

  it('lists the rejects newest first with their images, and the filter narrows by camera, verdict and time', async () => {
    await openReview();
    const all = await thumbs();
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.every((t) => ['FAIL', 'TIMEOUT', 'ERROR'].includes(t.verdict))).toBe(true);
    expect(all.map((t) => t.seq)).toEqual([...all.map((t) => t.seq)].sort((x, y) => y - x));
    expect(new Set(all.map((t) => t.camera))).toEqual(new Set(['cam1', 'cam2']));
    // Thumbnails are the archived images.
    await expect.poll(async () => page.$$eval('.thumb img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth === 640).length), { timeout: 10_000 }).toBeGreaterThan(0);

    // Camera cam2, FAIL only, decided before a moment in the past: exactly the log's rows.
    const cutoff = Date.now() - 1000;
    await page.selectOption('select[name=camera]', 'cam2');
    await page.uncheck('input[name=verdict][value=TIMEOUT]');
    await page.uncheck('input[name=verdict][value=ERROR]');
    // datetime-local is local time, to the second.
    const local = new Date(cutoff - new Date(cutoff).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.fill('input[name=until]', local);
    const until = Math.floor(cutoff / 1000) * 1000;
    await page.click('#review-filter button[type=submit]');
    await expect.poll(async () => (await thumbs()).every((t) => t.camera === 'cam2' && t.verdict === 'FAIL')).toBe(true);
    const shown = await thumbs();
    const expected = rows(`SELECT seq FROM verdicts WHERE camera = 'cam2' AND verdict = 'FAIL' AND decided_at < ? ORDER BY decided_at DESC, seq DESC`, until).map((r) => r.seq);
    expect(shown.map((t) => t.seq)).toEqual(expected);

    // The CSV of the shown range: the same rows, oldest first, with the review columns.
    const href = await page.getAttribute('#review-csv', 'href');
    const csv = (await (await fetch(base + href!)).text()).trim().split('\n');
    expect(csv[0]).toContain(',review,reviewedAt');
    expect(csv.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([...expected].reverse());
  });

  it('marks a reject as a false reject with the token, and refuses without it', async () => {
    const first = (await thumbs())[0]!;
    await page.click(`.thumb[data-seq="${first.seq}"]`);
    await page.waitForSelector(`#review-detail[data-seq="${first.seq}"] .mark-bar`);
    // The full image with its overlay, and the verdict's facts.
    await expect.poll(async () => page.locator('#review-detail .review-full > img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(640);
    const detail = await page.locator('#review-detail .detail-facts').textContent();
    expect(detail).toContain(`cam2`);
    expect(detail).toContain('latency');

    // Without a token: the page asks for it; cancelling leaves the log unchanged.
    await page.click('#review-detail .mark-false-reject');
    await page.waitForSelector('#token-dialog[open]');
    await page.click('#token-dialog button[value=cancel]');
    await expect.poll(async () => page.locator('#review-detail .mark-status').textContent()).toContain('needs the token');
    // The API itself refuses without the token and with a wrong one, whatever the page does.
    const post = (auth?: string) =>
      fetch(`${base}/api/review/${first.seq}/mark`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify({ mark: 'false-reject' }) });
    expect((await post()).status).toBe(401);
    expect((await post('Bearer not-the-token')).status).toBe(403);
    expect(rows(`SELECT review FROM verdicts WHERE seq = ?`, first.seq)[0]!.review).toBeNull();

    // A wrong token typed into the page is refused by the station and not kept.
    await page.click('#review-detail .mark-false-reject');
    await page.fill('#token-input', 'wrong');
    await page.click('#token-ok');
    await expect.poll(async () => page.locator('#token-error').textContent()).toContain('refused');
    expect(await page.evaluate(() => sessionStorage.getItem('inspectd.token'))).toBeNull();

    // With the right token the mark is saved, in the log.
    await page.click('#review-detail .mark-false-reject');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-ok');
    await expect.poll(() => rows(`SELECT review FROM verdicts WHERE seq = ?`, first.seq)[0]!.review, { timeout: 10_000 }).toBe('false-reject');
    await expect.poll(async () => page.locator('#review-detail .mark-current').textContent()).toContain('false-reject');
    await shot('review-1024x768');
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.waitForTimeout(400);
    await shot('review-768x1024');

    // inspectd export carries the mark: verdicts.csv's review column, and labels.csv relabels it good.
    const out = join(dir, 'export');
    const r = spawnSync(process.execPath, [cliPath, 'export', '--db', db, '--out', out, '--images', '--camera', 'cam2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const verdictsCsv = readFileSync(join(out, 'verdicts.csv'), 'utf8').split('\n');
    expect(verdictsCsv.find((l) => l.startsWith(`${first.seq},`))).toMatch(/,false-reject,\d{4}-\d\d-\d\dT/);
    const labels = readFileSync(join(out, 'labels.csv'), 'utf8').split('\n');
    expect(labels.find((l) => l.includes(`,${first.seq},cam2,`))).toMatch(/,good,false-reject$/);
  });

  it('shows an archived FAIL with its defect map over the image: the screenshot turns red on the defect, not elsewhere', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    const fail = await waitFor('a FAIL with an archived map', async () => {
      for (const t of await thumbs()) {
        if (t.verdict !== 'FAIL') continue;
        const v = (await (await fetch(`${base}/api/review/${t.seq}`)).json()) as { mapUrl: string | null };
        if (v.mapUrl) return { seq: t.seq, mapUrl: v.mapUrl };
      }
      return undefined;
    }, 10_000);
    expect(fail.mapUrl).toBe(`/api/review/${fail.seq}/map`);
    await page.click(`.thumb[data-seq="${fail.seq}"]`);
    await page.waitForSelector(`#review-detail[data-seq="${fail.seq}"] .review-full img.defect-map`);
    await page.waitForFunction(() => {
      const m = document.querySelector<HTMLImageElement>('#review-detail .review-full img.defect-map');
      return m !== null && m.complete && m.naturalWidth > 0;
    });
    // Screenshots of the full view with the map and with it hidden, compared on the map's hottest cell and a clear one.
    const full = page.locator('#review-detail .review-full');
    const withMap = await full.screenshot();
    const mapStyle = (hidden: boolean) =>
      page.evaluate((h) => document.querySelector<HTMLElement>('#review-detail .review-full img.defect-map')!.style.setProperty('visibility', h ? 'hidden' : 'visible'), hidden);
    await mapStyle(true);
    const withoutMap = await full.screenshot();
    await mapStyle(false);
    const seen = mapOnScreenshots(Buffer.from(await (await fetch(base + fail.mapUrl)).arrayBuffer()), withMap, withoutMap);
    expect(hotCellsOutside(seen.alpha, loggedBoxes(fail.seq), { width: 640, height: 512 })).toBe(0);
    expect(seen.hottestAlpha).toBeGreaterThan(60);
    expect(seen.redGainAtHottest).toBeGreaterThan(40);
    expect(seen.changeAtClear).toBeLessThan(12);
    await shot('review-map-1024x768');
  });
});

describe('reloading from the page', () => {
  const deadlinesAfter = (seq: number) => rows(`SELECT deadline_ms AS seq FROM verdicts WHERE seq > ? ORDER BY seq`, seq).map((r) => r.seq);
  const newestSeq = () => rows(`SELECT MAX(seq) AS seq FROM verdicts`)[0]!.seq;

  it('reloads the config with the token and not without: the new deadline judges the next frames; a restart-only change is refused', async () => {
    await page.click('#tab-live');
    // The marking test left the token in the tab: sign out first.
    if (await page.evaluate(() => sessionStorage.getItem('inspectd.token'))) await page.click('#token-button');
    expect(cfgText).toContain('deadlineMs: 1000');
    writeFileSync(cfgPath, cfgText.replace('deadlineMs: 1000', 'deadlineMs: 900'));

    // Without the token: the page asks, cancelling reloads nothing.
    await page.click('#reload-button');
    await page.waitForSelector('#token-dialog[open]');
    await page.click('#token-dialog button[value=cancel]');
    await expect.poll(async () => page.locator('#reload-status').textContent()).toContain('needs the token');
    let from = newestSeq();
    await waitFor('more verdicts', () => (deadlinesAfter(from).length >= 3 ? true : undefined), 15_000);
    expect(new Set(deadlinesAfter(from))).toEqual(new Set([1000]));

    // With the token: applied, the page says what changed, and the next verdicts carry the new deadline.
    await page.click('#reload-button');
    await page.waitForSelector('#token-dialog[open]');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-ok');
    await expect.poll(async () => page.locator('#reload-status').textContent(), { timeout: 15_000 }).toMatch(/^reloaded: .*deadlineMs/);
    from = newestSeq();
    await waitFor('verdicts under the new deadline', () => (deadlinesAfter(from).filter((d) => d === 900).length >= 3 ? true : undefined), 15_000);
    // A frame already in flight when the reload landed keeps the deadline it was scheduled with; every one after is judged on the new one.
    const after = deadlinesAfter(from);
    const firstNew = after.indexOf(900);
    expect(firstNew, after.join(',')).toBeLessThanOrEqual(2);
    expect(after.slice(firstNew).every((d) => d === 900), after.join(',')).toBe(true);

    // A change that needs a restart is refused, and the page says which field.
    writeFileSync(cfgPath, cfgText.replace('deadlineMs: 1000', 'deadlineMs: 900').replace(`updateHz: ${UPDATE_HZ}`, `updateHz: ${UPDATE_HZ + 1}`));
    await page.click('#reload-button');
    await expect.poll(async () => page.locator('#reload-status').textContent(), { timeout: 15_000 }).toMatch(/^reload refused.*page/);
    writeFileSync(cfgPath, cfgText);
  });
});

describe('pausing from the page', () => {
  const newestSeq = () => rows(`SELECT MAX(seq) AS seq FROM verdicts`)[0]!.seq;

  it('pauses the inspection with the token (the badge and the button say so, nothing is judged) and resumes it', async () => {
    await page.click('#tab-live');
    // Signed in by the reload test: the click acts at once.
    expect(await page.evaluate(() => sessionStorage.getItem('inspectd.token'))).toBe(TOKEN);
    await expect.poll(async () => page.locator('#pause-button').textContent()).toBe('Pause inspection');
    await page.click('#pause-button');
    await expect.poll(async () => page.locator('#pause-button').textContent(), { timeout: 10_000 }).toBe('Resume inspection');
    await expect.poll(async () => page.locator('.badge[data-name=inspection] .v').textContent(), { timeout: 10_000 }).toBe('paused');
    await sleep(1500); // frames in flight at the pause still get their verdicts
    const pausedAt = newestSeq();
    await sleep(1500);
    expect(newestSeq()).toBe(pausedAt);
    await page.click('#pause-button');
    await expect.poll(async () => page.locator('#pause-button').textContent(), { timeout: 10_000 }).toBe('Pause inspection');
    await waitFor('verdicts again', () => (newestSeq() > pausedAt ? true : undefined), 15_000);
    expect(await page.locator('.badge[data-name=inspection] .v').textContent()).toBe('running');
  });
});

describe('stopping', () => {
  it('stops cleanly (exit 0) while a page is still watching: the live streams do not hold the server open', async () => {
    await page.click('#tab-live');
    await page.waitForSelector('.conn.live');
    const started = Date.now();
    expect(await daemon.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    // The page notices and says so (EventSource keeps retrying).
    await expect.poll(async () => page.locator('#connection').textContent(), { timeout: 10_000 }).toContain('reconnecting');
  });
});
