export function pct(x: number | null): string {
  return x === null ? '–' : `${x.toFixed(1)} %`;
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function score(s: number | null | undefined): string {
  return s === null || s === undefined ? '–' : s.toFixed(3);
}

/** A small element with text, for building the DOM without innerHTML (nothing from the log is parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
