import { appendFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/source/synthetic/rng.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { DaemonProcess, VerdictSubscriber, sleep } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/**
 * The daemon SIGKILLed again and again under load on one log, a subscriber connected throughout:
 * nothing the log holds may be missing at the subscriber once the last life has drained it, and no
 * seq may ever mean two verdicts. CI runs 6 lives; `bench/kill-loop.sh` runs hundreds
 * (KILL_LOOP_LIVES) and writes the figures to docs/reliability.md's table.
 *
 * Each kill lands at a moment drawn from a seeded PRNG (KILL_LOOP_SEED): during start-up (a random
 * fraction of the last start-up's length: log open and seq reservation, model load, connect, the
 * backlog re-send), while publishing and committing (1-40 verdicts into the life, plus up to one
 * frame period), or during a clean stop's drain (SIGTERM, then SIGKILL a random moment later). A
 * life waits only for what it needs (the subscriber's count, the daemon's exit), never a fixed sleep.
 *
 * On any early end (the broker gone, the subscriber disconnected, a daemon that exited by itself, a
 * life past its limit) the loop stops, and the figures so far are printed with the reason; with
 * KILL_LOOP_PROGRESS=FILE a line per life is appended too, so even a run killed from outside leaves them.
 */
const LIVES = Number(process.env.KILL_LOOP_LIVES ?? 6);
const SEED = Number(process.env.KILL_LOOP_SEED ?? 7);
const PROGRESS = process.env.KILL_LOOP_PROGRESS;
/** Start no life after this many seconds (0: none); then the last life and the figures, as after any early end. */
const BUDGET_S = Number(process.env.KILL_LOOP_BUDGET_S ?? 0);
/** A run on a shared machine can be ended early, with its figures: `touch $KILL_LOOP_PROGRESS.stop`. */
const STOP_FILE = PROGRESS ? `${PROGRESS}.stop` : undefined;
/** A life that has not reached its kill moment by then ends the loop (a broker or daemon that stopped working). */
const LIFE_LIMIT_MS = Number(process.env.KILL_LOOP_LIFE_LIMIT_MS ?? 60_000);

type Moment = 'start-up' | 'publish' | 'drain';
interface Life {
  life: number;
  moment: Moment;
  /** Verdicts the subscriber got during this life (re-sends of earlier lives included). */
  received: number;
  /** Spawn to the daemon's `ready` line; undefined when killed before it. */
  readyMs?: number;
  wallMs: number;
  /** drain: the clean stop ended (exit 0) before the SIGKILL came. */
  stoppedFirst?: boolean;
}

let broker: TestBroker;
let sub: VerdictSubscriber;
let dir: string;
let aborting = false;
const lives: Life[] = [];
const brokerRssKiB: number[] = [];
let endedBy = 'not started';
let finalExit: number | null = null;

function config() {
  return {
    station: 'kl',
    deadlineMs: 200,
    // Pinned: `auto` times both files at every start (about 1.3 s here), which has nothing to do with the log.
    model: { path: defaultModelJson, precision: 'fp32' },
    mqtt: { url: broker.url },
    http: { enabled: false },
    archive: { enabled: false },
    cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 30, seed: 5, distinctParts: 16 } }],
    storage: { path: join(dir, 'verdicts.db') },
    // info: the `ready` line is what a start-up kill is timed against.
    log: { level: 'info', format: 'json' },
  };
}

const isReady = (d: DaemonProcess) => d.stdout.includes('"event":"ready"');
const running = (d: DaemonProcess) => d.child.exitCode === null && d.child.signalCode === null;

/** Why the loop cannot go on, or undefined: checked while a life waits and between lives. */
function trouble(): string | undefined {
  if (aborting) return 'the test was ended from outside (timeout or interrupt)';
  const gone = broker.unexpectedExit;
  if (gone) return `mosquitto exited by itself at ${new Date(gone.at).toISOString()} (code ${gone.code}, signal ${gone.signal}); its log ends:\n${broker.logTail()}`;
  return undefined;
}

/** What the broker's process looks like, for a reason that may be the broker's. */
function brokerState(): string {
  return `mosquitto pid ${broker.pid}, state ${broker.procState() ?? 'gone'}, RSS ${broker.rssKiB() ?? '-'} KiB; subscriber ${sub.client.connected ? 'connected' : 'disconnected'}`;
}

/** Times this process did not run for over a second (the machine frozen or starved): counted, and not charged to a life. */
const stalls: number[] = [];

/**
 * Polls `cond` every 5 ms until it holds (true), the daemon exits, trouble starts or the limit passes
 * (false). A poll that comes over a second late means this process was stopped (a machine-wide
 * SIGSTOP, as /tmp/quiet.sh does) or starved: the limit is moved on by that long.
 */
async function waitFor(cond: () => boolean, d: DaemonProcess, limitMs = LIFE_LIMIT_MS): Promise<boolean> {
  let end = Date.now() + limitMs;
  let last = Date.now();
  while (!cond()) {
    const now = Date.now();
    if (now - last > 1000) {
      stalls.push(now - last);
      end += now - last;
    }
    last = now;
    if (!running(d) || trouble() || now > end) return false;
    await sleep(5);
  }
  return true;
}

function daemonGone(d: DaemonProcess, life: number): string {
  return `life ${life}: the daemon exited by itself (code ${d.child.exitCode}, signal ${d.child.signalCode}); stderr: ${d.stderr.trim().slice(-800)}; last log: ${d.stdout.trim().split('\n').slice(-3).join(' | ')}`;
}

/** One life: start, wait for the drawn moment, SIGKILL. Returns why the loop must end, or undefined. */
async function oneLife(life: number, rng: () => number): Promise<string | undefined> {
  const before = sub.received.length;
  const t0 = Date.now();
  const d = DaemonProcess.start(config(), {}, dir);
  const draw = rng();
  const moment: Moment = draw < 0.25 ? 'start-up' : draw < 0.8 ? 'publish' : 'drain';
  const record: Life = { life, moment, received: 0, wallMs: 0 };
  let why: string | undefined;
  let reached: boolean;
  if (moment === 'start-up') {
    const lastReady = [...lives].reverse().find((l) => l.readyMs !== undefined)?.readyMs ?? 3000;
    const at = t0 + rng() * lastReady;
    reached = await waitFor(() => Date.now() >= at || isReady(d), d);
  } else {
    const k = 1 + Math.floor(rng() * (moment === 'publish' ? 40 : 20));
    reached = await waitFor(() => sub.received.length >= before + k, d);
    // Up to one frame period later: between a publish and its commit, or inside either.
    if (reached) await sleep(rng() * 34);
    if (reached && moment === 'drain') {
      d.child.kill('SIGTERM');
      // A clean stop here takes 100-600 ms (cameras, schedulers, the last commit and PUBACKs).
      const at = Date.now() + rng() * 600;
      await waitFor(() => Date.now() >= at, d);
      record.stoppedFirst = !running(d);
      if (record.stoppedFirst && d.child.exitCode !== 0) why = daemonGone(d, life);
    }
  }
  if (!reached) why = trouble() ?? (running(d) ? `life ${life} (${moment}): its moment not reached in ${LIFE_LIMIT_MS} ms (daemon ready: ${isReady(d)}; ${brokerState()}); broker log ends:\n${broker.logTail()}` : daemonGone(d, life));
  const readyLine = d.stdout.split('\n').find((l) => l.includes('"event":"ready"'));
  if (readyLine) record.readyMs = (JSON.parse(readyLine) as { time: number }).time - t0;
  d.child.kill('SIGKILL');
  await d.exited;
  record.received = sub.received.length - before;
  record.wallMs = Date.now() - t0;
  lives.push(record);
  const rss = broker.rssKiB();
  if (rss !== undefined) brokerRssKiB.push(rss);
  if (PROGRESS) appendFileSync(PROGRESS, `${JSON.stringify({ ...record, at: new Date().toISOString(), subscriberTotal: sub.received.length, brokerRssKiB: rss })}\n`);
  return why;
}

/** The last life: runs until every verdict the log holds was delivered (its own 30 included), then stops cleanly. */
async function lastLife(): Promise<string | undefined> {
  const before = sub.received.length;
  const d = DaemonProcess.start(config(), {}, dir);
  const owedAll = () => {
    const db = new Database(join(dir, 'verdicts.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n === 0;
    } finally {
      db.close();
    }
  };
  const drained = await waitFor(() => sub.received.length >= before + 30 && owedAll(), d, 120_000);
  finalExit = await d.stop();
  // The clean stop waited for its PUBACKs; the broker's copies to the subscriber follow within moments.
  let n = -1;
  while (n !== sub.received.length) {
    n = sub.received.length;
    await sleep(200);
  }
  if (!drained) return trouble() ?? (finalExit === null || finalExit !== 0 ? daemonGone(d, lives.length) : 'the last life did not drain the outbox in 120 s');
  return finalExit === 0 ? undefined : `the last life's clean stop exited ${finalExit}: ${d.stderr.trim().slice(-800)}`;
}

interface Figures {
  lives: number;
  endedBy: string;
  moments: Record<Moment, number>;
  received: number;
  distinctSeqs: number;
  logged: number;
  delivered: number;
  lost: number;
  duplicates: number;
  seqReused: number;
  integrity: string;
  seqGaps: number;
  seqGapMax: number;
  publishedNotLogged: number;
  unpublishedRows: number;
  outboxOwed: number;
  /** drain lives whose clean stop ended before the SIGKILL came (the rest were killed mid-stop). */
  drainStoppedFirst: number;
  lifeMs: { p50: number; p90: number; max: number };
  /** Polls over a second late: how often and how long this process was frozen or starved. */
  stalls: { count: number; totalS: number; maxS: number };
  readyMs: { p50: number; max: number };
  brokerRssMiB: { first: number; max: number; last: number } | undefined;
  totalS: number;
}

const pct = (xs: number[], p: number) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!);
const mib = (kib: number) => Math.round(kib / 102.4) / 10;

/** Everything the loop has shown so far; callable after an early end as well. */
function figures(startedAt: number): Figures {
  const db = new Database(join(dir, 'verdicts.db'), { readonly: true, fileMustExist: true });
  const rows = db.prepare('SELECT seq, frame_id, captured_at, verdict, published_at FROM verdicts ORDER BY seq').all() as Array<{
    seq: number;
    frame_id: number;
    captured_at: number;
    verdict: string;
    published_at: number | null;
  }>;
  const integrity = (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  const outboxOwed = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  db.close();
  const bySeq = new Map<number, VerdictMessage[]>();
  for (const { msg } of sub.received) bySeq.set(msg.seq, [...(bySeq.get(msg.seq) ?? []), msg]);
  const meaning = (m: { frameId: number; capturedAt: number; verdict: string }) => `${m.frameId}/${m.capturedAt}/${m.verdict}`;
  // A seq reused: two copies that are not the same verdict of the same frame, or a row that is not what was sent.
  const reused = new Set<number>();
  for (const [seq, copies] of bySeq) if (new Set(copies.map(meaning)).size > 1) reused.add(seq);
  const logged = new Set<number>();
  let gaps = 0;
  let gapMax = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    logged.add(r.seq);
    const sent = bySeq.get(r.seq)?.[0];
    if (sent && meaning(sent) !== meaning({ frameId: r.frame_id, capturedAt: r.captured_at, verdict: r.verdict })) reused.add(r.seq);
    if (i > 0 && r.seq - rows[i - 1]!.seq > 1) {
      gaps++;
      gapMax = Math.max(gapMax, r.seq - rows[i - 1]!.seq - 1);
    }
  }
  const lost = rows.filter((r) => !bySeq.has(r.seq)).length;
  const moments = { 'start-up': 0, publish: 0, drain: 0 };
  for (const l of lives) moments[l.moment]++;
  const ready = lives.flatMap((l) => (l.readyMs === undefined ? [] : [l.readyMs]));
  return {
    lives: lives.length,
    endedBy,
    moments,
    received: sub.received.length,
    distinctSeqs: bySeq.size,
    logged: rows.length,
    delivered: rows.length - lost,
    lost,
    duplicates: sub.received.length - bySeq.size,
    seqReused: reused.size,
    integrity,
    seqGaps: gaps,
    seqGapMax: gapMax,
    publishedNotLogged: [...bySeq.keys()].filter((s) => !logged.has(s)).length,
    unpublishedRows: rows.filter((r) => r.published_at === null).length,
    outboxOwed,
    drainStoppedFirst: lives.filter((l) => l.stoppedFirst).length,
    lifeMs: { p50: pct(lives.map((l) => l.wallMs), 0.5), p90: pct(lives.map((l) => l.wallMs), 0.9), max: Math.max(0, ...lives.map((l) => l.wallMs)) },
    stalls: { count: stalls.length, totalS: Math.round(stalls.reduce((a, b) => a + b, 0) / 1000), maxS: Math.round(Math.max(0, ...stalls) / 1000) },
    readyMs: { p50: pct(ready, 0.5), max: Math.max(0, ...ready) },
    brokerRssMiB: brokerRssKiB.length ? { first: mib(brokerRssKiB[0]!), max: mib(Math.max(...brokerRssKiB)), last: mib(brokerRssKiB.at(-1)!) } : undefined,
    totalS: Math.round((Date.now() - startedAt) / 1000),
  };
}

beforeAll(async () => {
  // The subscriber rides out a freeze of this machine (other work stops every process for its
  // timing runs): no keepalive to expire, and a session that queues what comes while it reconnects.
  broker = await TestBroker.start(undefined, { keepLog: true, extraConf: ['max_queued_messages 0'] });
  sub = await VerdictSubscriber.connect(broker.url, 'inspectd/kl/verdict', { persistent: true, keepaliveS: 0 });
  dir = mkdtempSync(join(tmpdir(), 'inspectd-killloop-'));
});

afterAll(async () => {
  // A loop still running after a timeout must not go on without its broker (the 300-life run of
  // 2026-12-01 did: vitest ran afterAll at its hook timeout and the loop kept starting daemons).
  aborting = true;
  await sub?.close();
  await broker?.stop();
});

describe(`${LIVES} SIGKILLs under load, then a clean stop`, () => {
  it(
    'delivers every verdict the log holds, never gives one seq two meanings, and leaves the log intact',
    async () => {
      const startedAt = Date.now();
      const rng = mulberry32(SEED);
      let why: string | undefined;
      endedBy = 'running';
      try {
        const stopAt = BUDGET_S > 0 ? startedAt + BUDGET_S * 1000 : Infinity;
        for (let life = 0; life < LIVES && !why; life++) {
          if (Date.now() > stopAt) why = `time budget of ${BUDGET_S} s spent after ${life} lives`;
          else if (STOP_FILE && existsSync(STOP_FILE)) why = `asked to stop (${STOP_FILE}) after ${life} lives`;
          else why = trouble();
          if (!why) why = await oneLife(life, rng);
        }
        // Whatever ended the loop, a last life drains the log when the broker is still there, so the
        // figures say what was lost rather than what was still owed.
        const last = broker.unexpectedExit || aborting ? undefined : await lastLife();
        endedBy = why ?? last ?? 'all lives';
        if (why && last) endedBy += `; then: ${last}`;
      } catch (err) {
        endedBy = `threw: ${(err as Error).stack ?? String(err)}`;
      }
      const f = figures(startedAt);
      const line = JSON.stringify({ kind: 'kill-loop-figures', seed: SEED, asked: LIVES, ...f, perLife: lives.map((l) => l.received) });
      console.log(line);
      if (PROGRESS) appendFileSync(PROGRESS, `${line}\n`);

      expect(f.endedBy).toBe('all lives');
      expect(finalExit).toBe(0);
      expect(f.integrity).toBe('ok');
      expect(f.seqReused).toBe(0);
      expect(f.lost).toBe(0);
      expect(f.unpublishedRows).toBe(0);
      expect(f.outboxOwed).toBe(0);
      // At least once means a few re-sends per crash, never a flood.
      expect(f.duplicates).toBeLessThanOrEqual(LIVES * 60);
    },
    // CI (a handful of lives): bounded; the bench runs hundreds under its own budget.
    LIVES <= 10 ? 60_000 + LIVES * 30_000 : 0,
  );
});
