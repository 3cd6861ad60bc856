/**
 * Does the OPC UA server add a stall to the frame path? The interval, from the rounds that
 * bench/opcua-rounds.sh wrote (bench/results/opcua-yield-SESSION-ROUND-ARM.json), so anyone can
 * recompute bench/RESULTS.md's figures from the committed JSON:
 *
 *   node dist/bench/opcua-stall.js [--off off] [--on on] [--json FILE] bench/results/opcua-yield-s4*-*.json
 *
 * Per figure (e2e p99, deadline misses per 1,000 frames, event-loop delay p99, infer p99, and the
 * server thread's CPU per verdict where both arms ran the server) it gives
 * the difference on - off two ways:
 * - the difference of the arms' medians (pooled rates for misses: most rounds have none, so a
 *   median is 0 whatever happens), with a 95% bootstrap interval that resamples rounds within each
 *   session and arm (sessions differ by more than the effect asked about, so a resample keeps each
 *   session's share of both arms);
 * - the Hodges-Lehmann shift (the median of every on - off pair of rounds) with its distribution-free
 *   Mann-Whitney (Moses) 95% interval, and the Mann-Whitney two-sided p (normal approximation, ties
 *   corrected).
 * An interval's upper end is the detection bound: an effect larger than it would have shown.
 *
 * The equivalence test (since opcua6; the margins written down before the rounds were run, in
 * bench/RESULTS.md, "OPC UA: the server under SCHED_IDLE, an equivalence test"): the arms' e2e
 * p99 over every frame of their rounds pooled (the 3rd-worst of one round's 300 frames is too noisy
 * to tell 2 ms) and their pooled misses per 1,000 frames, each difference with a 90% bootstrap
 * interval over rounds (resampled within session and arm: the frames of a round are not
 * independent). "No stall" is shown when the p99 interval lies within ±--margin-ms (default 2;
 * two one-sided tests at 5% each, TOST) and the misses interval's upper end is at most
 * --margin-misses per 1,000 (default 1; one-sided at 5%). The pooled p95 and mean are given beside.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Round {
  file: string;
  session: string;
  arm: string;
  p99: number;
  misses: number;
  frames: number;
  loopP99: number | undefined;
  inferP99: number | undefined;
  serverCpuPerVerdictMs: number | undefined;
  serverBusyPct: number | undefined;
  /** Every answered frame's capture → receipt, ms (bench JSON since opcua6). */
  latencies: number[] | undefined;
  /** How late the client got results (receipt - decidedAt, ms) and the verdicts it missed (bench JSON since opcua6). */
  late: { p50: number; p99: number; max: number } | undefined;
  verdictsMissing: number | undefined;
}

interface BenchJson {
  e2e: {
    received: number;
    p99Ms: number;
    frameLatenciesMs?: number[];
    deadlineMisses: number;
    eventLoopDelayP99Ms?: number;
    daemon?: { stages?: { infer?: { p99: number } }[] };
    opcua?: { serverCpuPerVerdictMs?: number; serverThreadBusyPct?: number; lateMs?: { p50: number; p99: number; max: number }; verdictsMissing?: number };
  };
}

const NAME = /^opcua-yield-(.+)-(\d+)-([a-z0-9]+)\.json$/;

function readRound(file: string): Round {
  const m = NAME.exec(basename(file));
  if (!m) throw new Error(`${file}: not an opcua-yield-SESSION-ROUND-ARM.json file (bench/opcua-rounds.sh)`);
  const e = (JSON.parse(readFileSync(file, 'utf8')) as BenchJson).e2e;
  return {
    file,
    session: m[1]!,
    arm: m[3]!,
    p99: e.p99Ms,
    misses: e.deadlineMisses,
    frames: e.received,
    loopP99: e.eventLoopDelayP99Ms,
    inferP99: e.daemon?.stages?.[0]?.infer?.p99,
    serverCpuPerVerdictMs: e.opcua?.serverCpuPerVerdictMs,
    serverBusyPct: e.opcua?.serverThreadBusyPct,
    latencies: e.frameLatenciesMs,
    late: e.opcua?.lateMs,
    verdictsMissing: e.opcua?.verdictsMissing,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/** The items by key, in first-seen order (Map.groupBy is Node 21+). */
function groups<T, K>(xs: readonly T[], key: (x: T) => K): T[][] {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return [...m.values()];
}

/** A seeded PRNG (mulberry32): the same files give the same interval on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The standard normal quantile's one value used here, and its CDF (Abramowitz-Stegun 7.1.26). */
const Z975 = 1.959964;
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

type Stat = (off: Round[], on: Round[]) => number;

interface Figure {
  name: string;
  /** The per-round value (for Hodges-Lehmann and Mann-Whitney). */
  value: (r: Round) => number | undefined;
  /** The arms' difference, on - off. */
  diff: Stat;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const perMille = (rs: Round[]) => (1000 * rs.reduce((n, r) => n + r.misses, 0)) / rs.reduce((n, r) => n + r.frames, 0);
const medianOf = (f: (r: Round) => number | undefined) => (off: Round[], on: Round[]) => median(defined(on.map(f))) - median(defined(off.map(f)));
const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);

const FIGURES: Figure[] = [
  { name: 'e2e p99 (ms)', value: (r) => r.p99, diff: medianOf((r) => r.p99) },
  { name: 'deadline misses per 1,000 frames', value: (r) => (1000 * r.misses) / r.frames, diff: (off, on) => perMille(on) - perMille(off) },
  { name: 'event-loop delay p99 (ms)', value: (r) => r.loopP99, diff: medianOf((r) => r.loopP99) },
  { name: 'infer p99 (ms)', value: (r) => r.inferP99, diff: medianOf((r) => r.inferP99) },
  // Only where both arms ran the server (--off base --on on: a change's effect on the server's thread).
  { name: 'server thread CPU per verdict (ms)', value: (r) => r.serverCpuPerVerdictMs, diff: medianOf((r) => r.serverCpuPerVerdictMs) },
];

/** The `level` percentile interval of `stat` (95% unless told), resampling rounds with replacement within each session's arm. */
function bootstrap(off: Round[], on: Round[], stat: Stat, n = 10_000, level = 0.95): [number, number] {
  const rnd = random(11);
  const cells = (rs: Round[]) => groups(rs, (r) => r.session);
  const offCells = cells(off);
  const onCells = cells(on);
  const draw = (cs: Round[][]) => cs.flatMap((c) => c.map(() => c[Math.floor(rnd() * c.length)]!));
  const stats = Array.from({ length: n }, () => stat(draw(offCells), draw(onCells))).sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [stats[Math.floor(n * tail)]!, stats[Math.ceil(n * (1 - tail)) - 1]!];
}

/** Hodges-Lehmann shift on - off, its Moses 95% interval, and Mann-Whitney's two-sided p. */
function hodgesLehmann(off: number[], on: number[]): { shift: number; ci: [number, number]; p: number } {
  const m = off.length;
  const n = on.length;
  const diffs = on.flatMap((y) => off.map((x) => y - x)).sort((a, b) => a - b);
  // U: pairs where on > off, ties half.
  const u = diffs.reduce((s, d) => s + (d > 0 ? 1 : d === 0 ? 0.5 : 0), 0);
  const all = [...off, ...on];
  const ties = groups(all, (x) => x).reduce((s, g) => s + g.length ** 3 - g.length, 0);
  const sd = Math.sqrt(((m * n) / 12) * (m + n + 1 - ties / ((m + n) * (m + n - 1))));
  const z = sd === 0 ? 0 : (u - (m * n) / 2) / sd;
  const k = Math.max(0, Math.floor((m * n) / 2 - Z975 * Math.sqrt((m * n * (m + n + 1)) / 12)));
  return { shift: median(diffs), ci: [diffs[k]!, diffs[m * n - 1 - k]!], p: 2 * (1 - normalCdf(Math.abs(z))) };
}

/** The `p` percentile of every frame of the rounds together (nearest rank, as src/bench/stats.ts). */
function pooledPercentile(rs: Round[], p: number): number {
  const all = Float64Array.from(rs.flatMap((r) => r.latencies!)).sort();
  return all[Math.min(all.length - 1, Math.max(0, Math.ceil((p / 100) * all.length) - 1))]!;
}
const pooledMean = (rs: Round[]) => {
  const all = rs.flatMap((r) => r.latencies!);
  return all.reduce((a, b) => a + b, 0) / all.length;
};

/** TOST on the pooled p99 within ±marginMs, and the misses' one-sided bound within +marginMisses per 1,000; 90% intervals. */
function equivalence(off: Round[], on: Round[], marginMs: number, marginMisses: number) {
  const pooled = (name: string, stat: Stat) => {
    const ci = bootstrap(off, on, stat, 4000, 0.9);
    return { figure: name, [ARMS.off]: round2(stat(off, [])), [ARMS.on]: round2(stat([], on)), difference: round2(stat(off, on)), bootstrap90: ci.map(round2) };
  };
  // The stats take (off, on); one arm's own value is asked for with the other empty.
  const arm = (f: (rs: Round[]) => number): Stat => (o, n) => (n.length === 0 ? f(o) : o.length === 0 ? f(n) : f(n) - f(o));
  const p99 = pooled('e2e p99, every frame pooled (ms)', arm((rs) => pooledPercentile(rs, 99)));
  const misses = pooled('deadline misses per 1,000 frames, pooled', arm(perMille));
  const [lo, hi] = p99.bootstrap90 as number[];
  const p99Within = lo! >= -marginMs && hi! <= marginMs;
  const missesWithin = (misses.bootstrap90 as number[])[1]! <= marginMisses;
  return {
    margin: { e2eP99Ms: marginMs, missesPer1000: marginMisses },
    figures: [p99, misses, pooled('e2e p95, every frame pooled (ms)', arm((rs) => pooledPercentile(rs, 95))), pooled('e2e mean, every frame pooled (ms)', arm(pooledMean))],
    p99Within,
    missesWithin,
    noStallShown: p99Within && missesWithin,
  };
}

/** The arms' names, for the equivalence figures' keys. */
const ARMS = { off: 'off', on: 'on' };

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = args[i + 1]!;
    args.splice(i, 2);
    return v;
  };
  const offArm = opt('--off', 'off');
  const onArm = opt('--on', 'on');
  const jsonOut = opt('--json', '');
  const marginMs = Number(opt('--margin-ms', '2'));
  const marginMisses = Number(opt('--margin-misses', '1'));
  ARMS.off = offArm;
  ARMS.on = onArm;
  const rounds = args.map(readRound);
  const off = rounds.filter((r) => r.arm === offArm);
  const on = rounds.filter((r) => r.arm === onArm);
  if (off.length < 2 || on.length < 2) throw new Error(`need two rounds an arm at least: ${off.length} ${offArm}, ${on.length} ${onArm}`);
  const sessions = [...new Set(rounds.map((r) => r.session))];
  const result = {
    command: `node dist/bench/opcua-stall.js --off ${offArm} --on ${onArm} --margin-ms ${marginMs} --margin-misses ${marginMisses} ${args.join(' ')}`,
    sessions,
    rounds: { [offArm]: off.length, [onArm]: on.length },
    frames: { [offArm]: off.reduce((s, r) => s + r.frames, 0), [onArm]: on.reduce((s, r) => s + r.frames, 0) },
    misses: { [offArm]: off.reduce((s, r) => s + r.misses, 0), [onArm]: on.reduce((s, r) => s + r.misses, 0) },
    serverCpuPerVerdictMs: defined(on.map((r) => r.serverCpuPerVerdictMs)),
    serverBusyPct: defined(on.map((r) => r.serverBusyPct)),
    // Per round of the on arm: how late its client got results (p50 / p99 / max, ms) and what it missed.
    clientLateMs: on.flatMap((r) => (r.late ? [[r.late.p50, r.late.p99, r.late.max]] : [])),
    clientVerdictsMissing: defined(on.map((r) => r.verdictsMissing)),
    figures: FIGURES.filter((f) => defined(off.map(f.value)).length > 1 && defined(on.map(f.value)).length > 1).map((f) => {
      const hl = hodgesLehmann(defined(off.map(f.value)), defined(on.map(f.value)));
      const ci = bootstrap(off, on, f.diff);
      return {
        figure: f.name,
        median: { [offArm]: round2(median(defined(off.map(f.value)))), [onArm]: round2(median(defined(on.map(f.value)))) },
        difference: round2(f.diff(off, on)),
        bootstrap95: ci.map(round2),
        hodgesLehmann: round2(hl.shift),
        mannWhitney95: hl.ci.map(round2),
        mannWhitneyP: Math.round(hl.p * 1000) / 1000,
      };
    }),
    // Only where every round's JSON has its frames (bench JSON since opcua6).
    ...(rounds.every((r) => r.latencies) ? { equivalence: equivalence(off, on, marginMs, marginMisses) } : {}),
  };
  console.log(JSON.stringify(result, null, 2));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
}

main();
