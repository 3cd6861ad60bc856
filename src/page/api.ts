// The page's view of the daemon's API; the types are the server's own (type-only imports, erased by esbuild).
import type { LiveUpdate } from '../outputs/operator-page/live-feed.js';
import type { ReviewedVerdict } from '../outputs/operator-page/review-desk.js';

export type { LiveUpdate, ReviewedVerdict };
export type LiveCameraUpdate = LiveUpdate['cameras'][number];

const TOKEN_KEY = 'inspectd.token';

/** The token lives for the browser tab only (sessionStorage): a shared tablet forgets it when closed. */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The station's error code (errors.ts), e.g. INSPECTD_AUTH_NOT_CONFIGURED, when it sent one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  return answer<T>(await fetch(path, init));
}

/** A response's JSON body, or an HttpError with the station's reason. */
async function answer<T>(res: Response): Promise<T> {
  if (!res.ok) {
    let msg = res.statusText;
    let code: string | undefined;
    try {
      // Refusals of the token check come as {error: {code, message}}, the page's own routes as {error: "..."}.
      const error = ((await res.json()) as { error?: string | { code?: string; message?: string } }).error;
      if (typeof error === 'string') msg = error;
      else if (error) {
        msg = error.message ?? msg;
        code = error.code;
      }
    } catch {
      // not JSON
    }
    throw new HttpError(res.status, msg, code);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export interface ReviewQuery {
  camera?: string;
  verdicts: string[];
  since?: number;
  until?: number;
}

export function reviewQueryString(q: ReviewQuery): string {
  const p = new URLSearchParams();
  if (q.camera) p.set('camera', q.camera);
  if (q.verdicts.length > 0) p.set('verdict', q.verdicts.join(','));
  if (q.since !== undefined) p.set('since', String(q.since));
  if (q.until !== undefined) p.set('until', String(q.until));
  return p.toString();
}

export function fetchRejects(q: ReviewQuery): Promise<{ rejects: ReviewedVerdict[] }> {
  return call(`/api/review?${reviewQueryString(q)}`);
}

export function fetchVerdict(seq: number): Promise<ReviewedVerdict> {
  return call(`/api/review/${seq}`);
}

export function markVerdict(seq: number, mark: 'true-reject' | 'false-reject'): Promise<ReviewedVerdict> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  return call(`/api/review/${seq}/mark`, { method: 'POST', headers, body: JSON.stringify({ mark }) });
}

/** What the station answers a reload (POST /reload: the command reply): applied with what changed, or refused with why. */
export interface ReloadReply {
  ok: boolean;
  changed?: string[];
  issues?: { path: string; message: string }[];
}

/**
 * Asks the station to re-read its config file and apply it (as systemctl reload does); needs the
 * token. A config the station refuses (409) is an answer, not an error: the old config keeps running.
 */
export async function reloadStation(): Promise<ReloadReply> {
  const t = token();
  const res = await fetch('/reload', { method: 'POST', headers: t ? { authorization: `Bearer ${t}` } : {} });
  if (res.status !== 409) return answer<ReloadReply>(res);
  const body = (await res.json()) as { error?: { issues?: ReloadReply['issues'] } };
  return { ok: false, issues: body.error?.issues ?? [] };
}

/** What the station answers a pause or resume (the command reply): whether it changed anything, and the state now. */
export interface PauseReply {
  ok: boolean;
  changed: boolean;
  paused: boolean;
}

/** Pauses or resumes the station's inspection (POST /pause, /resume); needs the token. */
export function pauseStation(pause: boolean): Promise<PauseReply> {
  const t = token();
  return call(pause ? '/pause' : '/resume', { method: 'POST', headers: t ? { authorization: `Bearer ${t}` } : {} });
}

/** Whether the token is the station's (204) or not (401/403). */
export async function checkToken(t: string): Promise<boolean> {
  const res = await fetch('/api/session/check', { headers: { authorization: `Bearer ${t}` } });
  return res.status === 204;
}
