import type { LiveCameraUpdate, LiveUpdate } from './api.js';
import type { CameraFigures, VerdictCounts } from '../outputs/operator-page/line-counters.js';
import { clock, el, pct, score } from './format.js';
import { LatencyChart } from './latency-chart.js';
import { OverlaidImage } from './overlay.js';

const KINDS = ['PASS', 'FAIL', 'TIMEOUT', 'ERROR'] as const;

/** One camera's card: frame with overlay, verdict, counters, latency histogram. */
class CameraCard {
  readonly root: HTMLElement;
  private readonly state = el('span', 'cam-state');
  private readonly image = new OverlaidImage('live-frame');
  private readonly verdict = el('div', 'verdict');
  private readonly facts = el('div', 'facts');
  private readonly counts = el('table', 'counts');
  private readonly chart: LatencyChart;
  private readonly misses = el('p', 'muted');

  constructor(readonly name: string) {
    this.root = el('article', 'camera');
    this.root.dataset.camera = name;
    const head = el('h2', undefined, name);
    head.append(this.state);
    const chartHost = el('div', 'chart');
    this.chart = new LatencyChart(chartHost);
    const side = el('div', 'side');
    side.append(this.verdict, this.facts, this.counts, el('h3', undefined, 'Latency, recent frames'), chartHost, this.misses);
    const body = el('div', 'camera-body');
    body.append(this.image.root, side);
    this.root.append(head, body);
  }

  update(c: LiveCameraUpdate, f: CameraFigures | undefined, camState: { state: string; reason?: string } | undefined): void {
    this.state.textContent = camState ? camState.state : '';
    this.state.className = `cam-state ${camState?.state ?? ''}`;
    if (camState?.reason) this.state.title = camState.reason;
    const v = c.verdict;
    this.verdict.textContent = v ? v.verdict : 'waiting';
    this.verdict.className = `verdict ${v ? v.verdict : ''}`;
    this.image.show(c.frameUrl, v, c.mapUrl);
    this.facts.replaceChildren(
      ...(v
        ? [
            fact('score', score(v.score)),
            fact('part', v.partId ?? `frame ${v.frameId}`),
            fact('latency', `${v.latencyMs.toFixed(1)} / ${c.deadlineMs} ms`),
            fact('at', clock(v.decidedAt)),
            fact('model', `${c.model.name} ${c.model.version} · ${c.model.precision} · ${c.model.backend}`),
          ]
        : [fact('model', `${c.model.name} ${c.model.version} · ${c.model.precision} · ${c.model.backend}`)]),
    );
    if (f) {
      this.counts.replaceChildren(countsHead(), countsRow('Shift', f.shift, f.shiftYieldPct), countsRow('Last hour', f.lastHour, f.lastHourYieldPct), throughputRow(f.throughputPerS));
      this.chart.update(f.latency);
      this.misses.textContent = `${f.latency.misses} of the last ${f.latency.frames} frames missed the deadline`;
    }
  }
}

function fact(name: string, value: string): HTMLElement {
  const d = el('div', 'fact');
  d.append(el('span', 'k', name), el('span', 'v', value));
  return d;
}

function countsHead(): HTMLElement {
  const tr = el('tr');
  tr.append(el('th'), ...KINDS.map((k) => el('th', k, k)), el('th', undefined, 'yield'));
  return tr;
}

function countsRow(label: string, c: VerdictCounts, yieldPct: number | null): HTMLElement {
  const tr = el('tr');
  tr.append(el('th', undefined, label), ...KINDS.map((k) => el('td', undefined, String(c[k]))), el('td', 'yield', pct(yieldPct)));
  return tr;
}

function throughputRow(perS: number): HTMLElement {
  const tr = el('tr');
  const td = el('td', undefined, `${perS.toFixed(2)} parts/s (${Math.round(perS * 60)}/min)`);
  td.colSpan = 5;
  tr.append(el('th', undefined, 'Throughput'), td);
  return tr;
}

interface Checks {
  model?: { ok: boolean; model?: { name: string; version: string; precision: string; backend: string } };
  cameras?: { ok: boolean; cameras?: Record<string, { state: string; reason?: string }> };
  broker?: { ok: boolean; connected: boolean; backlog: number };
  storage?: { ok: boolean; state: string; reason?: string };
  inspection?: { ok: boolean; paused: boolean; via?: string; since?: number };
}

/** The live view: the line's state, the station's totals, one card per camera. */
export class LiveView {
  private readonly cards = new Map<string, CameraCard>();

  constructor(
    private readonly cameras: HTMLElement,
    private readonly status: HTMLElement,
    private readonly totals: HTMLElement,
    /** Told on every update whether an operator has paused the inspection (the pause button's label follows it). */
    private readonly onPaused: (paused: boolean) => void = () => {},
  ) {}

  update(u: LiveUpdate): void {
    const checks = (u.status ?? {}) as Checks;
    this.status.replaceChildren(
      badge('broker', checks.broker ? (checks.broker.connected ? 'connected' : `down, ${checks.broker.backlog} waiting`) : '?', checks.broker?.ok ?? false),
      badge('storage', checks.storage?.state ?? '?', checks.storage?.ok ?? false, checks.storage?.reason),
      ...Object.entries(checks.cameras?.cameras ?? {}).map(([name, s]) => badge(name, s.state, s.state === 'up', s.reason)),
      badge('inspection', checks.inspection?.paused ? 'paused' : 'running', !checks.inspection?.paused, checks.inspection?.via ? `paused via ${checks.inspection.via}` : undefined),
    );
    this.onPaused(checks.inspection?.paused ?? false);
    const t = u.figures.total;
    this.totals.replaceChildren(
      fact('shift since', clock(u.figures.shiftStartedAt)),
      fact('shift', `${t.shift.PASS} PASS · ${t.shift.FAIL} FAIL · ${t.shift.TIMEOUT} TIMEOUT · ${t.shift.ERROR} ERROR`),
      fact('yield (shift / hour)', `${pct(t.shiftYieldPct)} / ${pct(t.lastHourYieldPct)}`),
      fact('throughput', `${t.throughputPerS.toFixed(2)} parts/s`),
    );
    for (const c of u.cameras) {
      let card = this.cards.get(c.name);
      if (!card) {
        card = new CameraCard(c.name);
        this.cards.set(c.name, card);
        this.cameras.append(card.root);
      }
      card.update(c, u.figures.cameras[c.name], checks.cameras?.cameras?.[c.name]);
    }
  }
}

function badge(name: string, value: string, ok: boolean, title?: string): HTMLElement {
  const b = el('span', `badge ${ok ? 'ok' : 'bad'}`);
  b.dataset.name = name;
  b.append(el('span', 'k', name), el('span', 'v', value));
  if (title) b.title = title;
  return b;
}
