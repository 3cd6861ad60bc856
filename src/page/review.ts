import { fetchRejects, fetchVerdict, HttpError, markVerdict, reviewQueryString, token, type ReviewedVerdict, type ReviewQuery } from './api.js';
import { clock, dateTime, el, score } from './format.js';
import { OverlaidImage } from './overlay.js';

/**
 * The review of rejects: a filter (camera, verdict, time), a strip of thumbnails of the matching
 * FAIL/TIMEOUT/ERROR verdicts (newest first), and one reject in full with its overlay, timings,
 * late result and the true/false reject mark.
 */
export class ReviewView {
  private query: ReviewQuery = { verdicts: ['FAIL', 'TIMEOUT', 'ERROR'] };
  private readonly detailImage = new OverlaidImage('review-full');

  constructor(
    private readonly form: HTMLFormElement,
    private readonly strip: HTMLElement,
    private readonly detail: HTMLElement,
    private readonly count: HTMLElement,
    private readonly csvLink: HTMLAnchorElement,
    private readonly askToken: () => Promise<boolean>,
  ) {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.query = this.readForm();
      void this.load();
    });
  }

  setCameras(names: string[]): void {
    const select = this.form.elements.namedItem('camera') as HTMLSelectElement;
    const have = new Set([...select.options].map((o) => o.value));
    for (const n of names) if (!have.has(n)) select.append(new Option(n, n));
  }

  private readForm(): ReviewQuery {
    const data = new FormData(this.form);
    const when = (name: string) => {
      const v = data.get(name);
      return typeof v === 'string' && v ? new Date(v).getTime() : undefined;
    };
    const camera = data.get('camera');
    return { camera: typeof camera === 'string' && camera ? camera : undefined, verdicts: data.getAll('verdict').map(String), since: when('since'), until: when('until') };
  }

  async load(): Promise<void> {
    const qs = reviewQueryString(this.query);
    this.csvLink.href = `/api/review.csv?${qs}`;
    let rejects: ReviewedVerdict[];
    try {
      rejects = (await fetchRejects(this.query)).rejects;
    } catch (err) {
      this.count.textContent = `could not load the rejects: ${(err as Error).message}`;
      return;
    }
    this.count.textContent = rejects.length === 0 ? 'no rejects in this range' : `${rejects.length} rejects, newest first`;
    this.strip.replaceChildren(...rejects.map((v) => this.thumb(v)));
  }

  private thumb(v: ReviewedVerdict): HTMLElement {
    const b = el('button', `thumb ${v.verdict}`);
    b.type = 'button';
    b.dataset.seq = String(v.seq);
    b.dataset.camera = v.camera;
    b.dataset.verdict = v.verdict;
    if (v.imageUrl) {
      const img = el('img');
      img.loading = 'lazy';
      img.src = v.imageUrl;
      img.alt = `${v.verdict} ${v.camera} ${v.seq}`;
      b.append(img);
    } else {
      b.append(el('span', 'no-image', 'no image kept'));
    }
    b.append(el('span', 'thumb-label', `${v.verdict} · ${v.camera} · ${clock(v.decidedAt)}`));
    if (v.review) b.append(el('span', `mark ${v.review.mark}`, v.review.mark === 'true-reject' ? '✓ true' : '✗ false'));
    b.addEventListener('click', () => void this.open(v.seq));
    return b;
  }

  async open(seq: number): Promise<void> {
    const v = await fetchVerdict(seq);
    this.detail.hidden = false;
    this.detail.dataset.seq = String(seq);
    this.detailImage.show(v.imageUrl, v, v.mapUrl);
    const facts = el('dl', 'detail-facts');
    const add = (k: string, val: string) => facts.append(el('dt', undefined, k), el('dd', undefined, val));
    add('verdict', v.verdict);
    add('score', score(v.score));
    add('camera', v.camera);
    add('part ID', v.partId ?? '–');
    add('frame', String(v.frameId));
    add('seq', String(v.seq));
    add('captured', dateTime(v.capturedAt));
    add('decided', dateTime(v.decidedAt));
    add('latency', `${v.latencyMs.toFixed(1)} ms (deadline ${v.deadlineMs} ms)`);
    add('model', `${v.model.name} ${v.model.version} · ${v.model.precision} · ${v.model.backend}`);
    if (v.error) add('error', `${v.error.code}: ${v.error.message}`);
    add('defects', v.defects.length === 0 ? 'none located' : v.defects.map((d) => `${d.label} ${d.score.toFixed(2)}${d.box ? ` at ${d.box.join(',')}` : ''}`).join('; '));
    if (v.late) {
      add('late result', `${v.late.verdict}, score ${score(v.late.score)}${v.late.decidedAt ? `, ${(v.late.decidedAt - v.capturedAt).toFixed(0)} ms after capture` : ''}`);
    } else if (v.verdict === 'TIMEOUT') {
      add('late result', 'none (the frame never ran, or its result was lost)');
    }
    if (!v.imageUrl) add('image', 'not kept (turn on archive in the config to keep reject images)');
    const mark = el('div', 'mark-bar');
    const current = el('span', 'mark-current', v.review ? `marked ${v.review.mark} at ${dateTime(v.review.at)}` : 'not reviewed');
    const status = el('span', 'mark-status');
    const button = (m: 'true-reject' | 'false-reject', text: string) => {
      const b = el('button', `mark-${m}`, text);
      b.type = 'button';
      b.addEventListener('click', () => void this.mark(seq, m, status));
      return b;
    };
    mark.append(button('true-reject', 'True reject (defective)'), button('false-reject', 'False reject (good part)'), current, status);
    const close = el('button', 'close', 'Close');
    close.type = 'button';
    close.addEventListener('click', () => (this.detail.hidden = true));
    this.detail.replaceChildren(this.detailImage.root, facts, mark, close);
    this.detail.scrollIntoView({ block: 'nearest' });
  }

  private async mark(seq: number, m: 'true-reject' | 'false-reject', status: HTMLElement): Promise<void> {
    if (!token() && !(await this.askToken())) {
      status.textContent = 'marking needs the token';
      return;
    }
    try {
      await markVerdict(seq, m);
      status.textContent = 'saved';
      await this.open(seq);
      await this.load();
    } catch (err) {
      const e = err as HttpError;
      status.textContent =
        e.code === 'INSPECTD_AUTH_NOT_CONFIGURED'
          ? 'refused: this station is read-only (no token configured)'
          : e.status === 401 || e.status === 403
            ? 'refused: wrong or missing token'
            : `refused: ${e.message}`;
      status.className = 'mark-status error';
    }
  }
}
