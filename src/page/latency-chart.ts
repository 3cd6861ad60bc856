import uPlot from 'uplot';
import type { LatencyHistogram } from '../outputs/operator-page/line-counters.js';

/**
 * One camera's latency histogram (capture → verdict of its recent frames) as uPlot bars, with the
 * deadline drawn as a red line. Built once per camera; each update only replaces the data.
 */
export class LatencyChart {
  private plot: uPlot | undefined;
  private deadlineMs = 0;

  constructor(private readonly host: HTMLElement) {}

  update(h: LatencyHistogram): void {
    const x = h.counts.map((_, i) => (i + 0.5) * h.binMs);
    const data: uPlot.AlignedData = [x, h.counts];
    this.deadlineMs = h.deadlineMs;
    if (!this.plot) {
      const width = Math.max(200, this.host.clientWidth || 300);
      this.plot = new uPlot(
        {
          width,
          height: 120,
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: false, range: [0, h.binMs * h.counts.length] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          axes: [{ size: 28, values: (_u, ticks) => ticks.map((t) => `${t} ms`) }, { size: 36 }],
          series: [{}, { stroke: '#2b6cb0', fill: 'rgba(43,108,176,0.45)', paths: uPlot.paths.bars!({ size: [0.9, 100] }), points: { show: false } }],
          hooks: {
            draw: [
              (u) => {
                const px = u.valToPos(this.deadlineMs, 'x', true);
                const ctx = u.ctx;
                ctx.save();
                ctx.strokeStyle = '#c53030';
                ctx.lineWidth = 2 * devicePixelRatio;
                ctx.beginPath();
                ctx.moveTo(px, u.bbox.top);
                ctx.lineTo(px, u.bbox.top + u.bbox.height);
                ctx.stroke();
                ctx.fillStyle = '#c53030';
                ctx.font = `${11 * devicePixelRatio}px sans-serif`;
                ctx.fillText(`deadline ${this.deadlineMs} ms`, px + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
                ctx.restore();
              },
            ],
          },
        },
        data,
        this.host,
      );
      new ResizeObserver(() => this.plot?.setSize({ width: Math.max(200, this.host.clientWidth), height: 120 })).observe(this.host);
    } else {
      this.plot.setData(data);
    }
  }
}
