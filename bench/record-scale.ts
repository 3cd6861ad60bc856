/**
 * How the verdict log's costs grow with its size. Four cameras at 30 fps make about 10 million
 * verdicts a day, so the log is measured at 1 M and 10 M rows (the 10 M run takes minutes and a
 * few GB of disk: it is not part of CI):
 *
 *   node dist/bench/record-scale.js [--rows 1000000[,10000000]] [--dir /tmp] [--json out.json]
 *
 * For each size: rows generated in one big transaction (realistic payloads: 4 cameras, 120 verdicts/s,
 * 4% FAIL with a defect box, 1% TIMEOUT, the last 1,000 unacknowledged), then
 * - startup: VerdictRecorder.open (lock, schema check, seq reservation commit, writer thread) to ready;
 * - commit: one group commit of 4 verdicts + 4 acknowledgements, synchronous=FULL (an fsync each);
 * - outbox: the publisher's query (first 200 unacknowledged after a seq) and the backlog count;
 * - range: a `verdicts --since`-style query, one minute of decided_at in the middle of the log;
 * - retention: one step (2,000 rows by age), as the writer runs it between commits;
 * - bytes per verdict (file size after a checkpoint / rows) and the disk 90 days at 120/s need.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { VerdictRecorder } from '../src/record/recorder.js';
import { toMessage, VerdictStore, type NewVerdict, type StoreWrite } from '../src/record/store.js';

const RATE = 120; // verdicts per second: 4 cameras × 30 fps
const STATION = 'station1';
const MODEL = JSON.stringify({ name: 'synthetic-line', version: '1.0.0', precision: 'int8', backend: 'onnxruntime' });
const T0 = Date.UTC(2026, 0, 1);

function args(argv: string[]) {
  const out = { rows: [1_000_000], dir: '/tmp', json: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rows') out.rows = argv[++i]!.split(',').map(Number);
    else if (argv[i] === '--dir') out.dir = argv[++i]!;
    else if (argv[i] === '--json') out.json = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return out;
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: round(q(0.5)), p99: round(q(0.99)), max: round(s.at(-1)!) };
}
const round = (x: number) => Math.round(x * 1000) / 1000;
function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** n rows in one transaction, straight through SQLite (the recorder's own path would take hours at 10 M). */
function generate(path: string, n: number): number {
  new VerdictStore({ path, synchronous: 'NORMAL' }).close(); // the schema, as the daemon creates it
  const db = new Database(path);
  db.pragma('synchronous = OFF');
  const ins = db.prepare(
    `INSERT INTO verdicts (station, seq, camera, frame_id, part_id, verdict, score, defects, captured_at, decided_at, latency_ms, deadline_ms, model, published_at)
     VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, 30, ?, ?)`,
  );
  // The MQTT output's cursor: what it has not delivered (the last 1,000) is owed in the outbox.
  const owe = db.prepare(`INSERT INTO outbox (station, seq, output) VALUES (?, ?, 'mqtt')`);
  const t = performance.now();
  db.transaction(() => {
    for (let seq = 1; seq <= n; seq++) {
      const decided = T0 + Math.floor((seq * 1000) / RATE);
      const r = seq % 100;
      const verdict = r < 4 ? 'FAIL' : r === 4 ? 'TIMEOUT' : 'PASS';
      const score = verdict === 'TIMEOUT' ? null : verdict === 'FAIL' ? 0.8 + r / 100 : (seq % 37) / 100;
      const defects = verdict === 'FAIL' ? `[{"label":"scratch","score":${score},"box":[${seq % 600},${seq % 480},24,9]}]` : '[]';
      ins.run(STATION, seq, `cam${(seq % 4) + 1}`, Math.floor(seq / 4), verdict, score, defects, decided - 12, decided, 12, MODEL, seq > n - 1000 ? null : decided + 3);
      if (seq > n - 1000) owe.run(STATION, seq);
    }
    db.prepare(`INSERT INTO seq_counter (station, last_seq, reserved_to) VALUES (?, ?, ?)`).run(STATION, n, n);
  })();
  const ms = performance.now() - t;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // Generated with synchronous=OFF: flush it now, or the first fsync measured below (startup's
  // reservation commit) pays for writing the whole generated file (2.8 s at 10 M rows).
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  return ms;
}

function newVerdict(i: number): NewVerdict {
  return {
    station: STATION,
    camera: 'cam1',
    frameId: i,
    partId: null,
    decision: { verdict: 'PASS', score: 0.1, defects: [] },
    capturedAt: T0 + i,
    decidedAt: T0 + i + 12,
    deadlineMs: 30,
    model: JSON.parse(MODEL),
  };
}

async function measure(dir: string, n: number) {
  const path = join(dir, `scale-${n}.db`);
  const generateMs = generate(path, n);
  const bytes = statSync(path).size;

  const startup: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const rec = await VerdictRecorder.open({ path, synchronous: 'FULL', station: STATION }, { committed() {} });
    startup.push(performance.now() - t);
    await rec.close();
  }

  const store = new VerdictStore({ path, synchronous: 'FULL' });
  let seq = store.lastSeq(STATION);
  const commit: number[] = [];
  for (let i = 0; i < 200; i++) {
    const writes: StoreWrite[] = [];
    for (let k = 0; k < 4; k++) writes.push({ op: 'verdict', msg: toMessage(newVerdict(i * 4 + k), ++seq) });
    writes.push({ op: 'published', output: 'mqtt', station: STATION, seqs: [seq - 7, seq - 6, seq - 5, seq - 4], at: Date.now() });
    commit.push(time(() => store.apply(writes)));
  }
  const outbox: number[] = [];
  const count: number[] = [];
  for (let i = 0; i < 50; i++) {
    outbox.push(time(() => store.unpublished(STATION, 0, 200)));
    count.push(time(() => store.countUnpublished(STATION)));
  }
  const db = new Database(path, { readonly: true });
  const since = db.prepare(`SELECT * FROM verdicts WHERE decided_at >= ? AND decided_at < ? ORDER BY decided_at`);
  const mid = T0 + Math.floor((n / 2 / RATE) * 1000);
  const range: number[] = [];
  let rangeRows = 0;
  for (let i = 0; i < 20; i++) range.push(time(() => (rangeRows = since.all(mid + i * 1000, mid + i * 1000 + 60_000).length)));
  db.close();
  const retention: number[] = [];
  const cutoffMs = T0 + 3_600_000; // the first hour: 432,000 rows at 120/s
  for (let i = 0; i < 20; i++) retention.push(time(() => store.retentionStep({ cutoffMs, maxBytes: 0, stepRows: 2_000 })));
  const sizeCheck = time(() => store.overSize(1));
  store.close();
  rmSync(path, { force: true });
  rmSync(`${path}-lock`, { force: true });

  const bytesPerVerdict = bytes / n;
  return {
    rows: n,
    generateS: round(generateMs / 1000),
    fileMb: round(bytes / 2 ** 20),
    bytesPerVerdict: Math.round(bytesPerVerdict),
    disk90dGb: round((bytesPerVerdict * RATE * 86_400 * 90) / 1e9),
    startupMs: stats(startup),
    commitMs: stats(commit),
    outboxQueryMs: stats(outbox),
    outboxCountMs: stats(count),
    rangeQueryMs: { ...stats(range), rows: rangeRows },
    retentionStepMs: stats(retention),
    sizeCheckMs: round(sizeCheck),
  };
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const dir = mkdtempSync(join(a.dir, 'inspectd-scale-'));
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, SQLite ${new Database(':memory:').prepare('SELECT sqlite_version() AS v').pluck().get()}`;
  process.stderr.write(`record-scale: ${machine}; work in ${dir}\n`);
  const results = [];
  try {
    for (const n of a.rows) {
      process.stderr.write(`record-scale: ${n.toLocaleString('en')} rows...\n`);
      results.push(await measure(dir, n));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (s: { p50: number; p99: number; max: number }) => `${s.p50} / ${s.p99} / ${s.max}`;
  console.log(`machine: ${machine}\n`);
  console.log('| rows | generate (s) | file (MiB) | bytes/verdict | 90 d at 120/s (GB) | startup p50/p99/max (ms) | commit 4+4 (ms) | outbox 200 (ms) | outbox count (ms) | 1-min range (ms) | retention step 2,000 (ms) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.rows.toLocaleString('en')} | ${r.generateS} | ${r.fileMb} | ${r.bytesPerVerdict} | ${r.disk90dGb} | ${f(r.startupMs)} | ${f(r.commitMs)} | ${f(r.outboxQueryMs)} | ${f(r.outboxCountMs)} | ${f(r.rangeQueryMs)} (${r.rangeQueryMs.rows} rows) | ${f(r.retentionStepMs)} |`,
    );
  }
  if (a.json) writeFileSync(a.json, JSON.stringify({ machine, results }, null, 2));
}

await main();
