import type { VerdictMessage } from '../verdict/types.js';

/**
 * Draws a verdict's defects over its image: the anomaly map (when the model has one) stretched over
 * the whole image, under one box per located defect with its label and score. The map's PNG covers
 * exactly the frame, and boxes are placed in percent of the image's own pixel size (the frame's), so
 * both stay on the defect at any displayed size (tablet portrait, landscape, the review's full view).
 */
export function drawDefects(layer: HTMLElement, img: HTMLImageElement, v: Pick<VerdictMessage, 'defects' | 'verdict' | 'seq'> | null, mapUrl: string | null = null): void {
  layer.replaceChildren();
  // Which verdict the boxes belong to (tests and people checking a screenshot read it).
  layer.dataset.seq = v ? String(v.seq) : '';
  if (!v || img.naturalWidth === 0) return;
  if (mapUrl) {
    const map = document.createElement('img');
    map.className = 'defect-map';
    map.alt = '';
    map.src = mapUrl;
    layer.append(map);
  }
  const w = img.naturalWidth;
  const h = img.naturalHeight;
  for (const d of v.defects) {
    if (!d.box) continue;
    const [x, y, bw, bh] = d.box;
    const box = document.createElement('div');
    box.className = 'defect-box';
    box.style.left = `${(100 * x) / w}%`;
    box.style.top = `${(100 * y) / h}%`;
    box.style.width = `${(100 * bw) / w}%`;
    box.style.height = `${(100 * bh) / h}%`;
    box.dataset.box = d.box.join(',');
    const label = document.createElement('span');
    label.className = 'defect-label';
    label.textContent = `${d.label} ${d.score.toFixed(2)}`;
    box.append(label);
    layer.append(box);
  }
}

/** An image with its overlay layer, swapped together so a box never sits on the previous frame. */
export class OverlaidImage {
  readonly root: HTMLElement;
  img: HTMLImageElement;
  readonly layer: HTMLElement;
  private wanted = '';

  constructor(className: string) {
    this.root = document.createElement('div');
    this.root.className = `overlaid ${className} no-image`;
    this.img = document.createElement('img');
    this.img.alt = '';
    this.layer = document.createElement('div');
    this.layer.className = 'overlay';
    this.root.append(this.img, this.layer);
  }

  /**
   * Loads src in an element of its own, then puts that element in place and draws the boxes: the
   * live frame is served once (no-store), so the element that loaded it is the one shown.
   */
  show(src: string | null, v: Pick<VerdictMessage, 'defects' | 'verdict' | 'seq'> | null, mapUrl: string | null = null): void {
    if (!src) {
      this.wanted = '';
      this.img.removeAttribute('src');
      this.root.classList.add('no-image');
      this.layer.replaceChildren();
      return;
    }
    if (src === this.wanted) return;
    this.wanted = src;
    const next = document.createElement('img');
    next.alt = this.img.alt;
    next.onload = () => {
      if (this.wanted !== src) return; // a newer frame was asked for meanwhile
      this.img.replaceWith(next);
      this.img = next;
      this.root.classList.remove('no-image');
      drawDefects(this.layer, next, v, mapUrl);
    };
    next.src = src;
  }
}
