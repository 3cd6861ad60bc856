import 'uplot/dist/uPlot.min.css';
import './page.css';
import { checkToken, HttpError, pauseStation, reloadStation, setToken, token, type LiveUpdate } from './api.js';
import { LiveView } from './live.js';
import { ReviewView } from './review.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const pauseButton = $<HTMLButtonElement>('pause-button');
let paused = false;
const live = new LiveView($('cameras'), $('line-status'), $('totals'), (p) => {
  paused = p;
  pauseButton.textContent = p ? 'Resume inspection' : 'Pause inspection';
  pauseButton.classList.toggle('paused', p);
});
const connection = $('connection');
const tokenButton = $<HTMLButtonElement>('token-button');
const dialog = $<HTMLDialogElement>('token-dialog');

/** Asks for the token and keeps it for the tab when the station accepts it. */
function askToken(): Promise<boolean> {
  const input = $<HTMLInputElement>('token-input');
  const error = $('token-error');
  input.value = '';
  error.textContent = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok' || !input.value) return resolve(false);
        void checkToken(input.value).then((ok) => {
          if (ok) setToken(input.value);
          else error.textContent = 'the station refused this token';
          showToken();
          resolve(ok);
        });
      },
      { once: true },
    );
  });
}

function showToken(): void {
  tokenButton.textContent = token() ? 'Signed in (sign out)' : 'Sign in to mark';
}
tokenButton.addEventListener('click', () => {
  if (token()) {
    setToken(null);
    showToken();
  } else void askToken();
});
showToken();

// Reload: the same command as systemctl reload or MQTT's cmd, through the same token check.
const reloadButton = $<HTMLButtonElement>('reload-button');
const reloadStatus = $('reload-status');
reloadButton.addEventListener('click', () => {
  void (async () => {
    if (!token() && !(await askToken())) {
      reloadStatus.textContent = 'reload needs the token';
      return;
    }
    reloadButton.disabled = true;
    reloadStatus.textContent = 'reloading…';
    try {
      const r = await reloadStation();
      if (!r.ok) reloadStatus.textContent = `reload refused, the previous config keeps running: ${(r.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('; ')}`;
      else reloadStatus.textContent = r.changed && r.changed.length > 0 ? `reloaded: ${r.changed.join(', ')}` : 'reloaded: nothing changed';
    } catch (err) {
      const e = err as HttpError;
      reloadStatus.textContent = e.status === 401 || e.status === 403 ? 'refused: wrong or missing token' : `reload failed: ${e.message}`;
    } finally {
      reloadButton.disabled = false;
    }
  })();
});

// Pause/resume: the same commands as MQTT's cmd, through the same token check; the label follows the station's state.
pauseButton.addEventListener('click', () => {
  void (async () => {
    if (!token() && !(await askToken())) {
      reloadStatus.textContent = `${paused ? 'resume' : 'pause'} needs the token`;
      return;
    }
    pauseButton.disabled = true;
    try {
      const r = await pauseStation(!paused);
      reloadStatus.textContent = r.paused ? 'inspection paused: parts are not judged, PLC triggers are refused' : 'inspection running';
    } catch (err) {
      const e = err as HttpError;
      reloadStatus.textContent = e.status === 401 || e.status === 403 ? 'refused: wrong or missing token' : `failed: ${e.message}`;
    } finally {
      pauseButton.disabled = false;
    }
  })();
});

const review = new ReviewView($<HTMLFormElement>('review-filter'), $('review-strip'), $('review-detail'), $('review-count'), $<HTMLAnchorElement>('review-csv'), askToken);

for (const tab of document.querySelectorAll<HTMLButtonElement>('.tab')) {
  tab.addEventListener('click', () => {
    const view = tab.dataset.view!;
    for (const t of document.querySelectorAll<HTMLButtonElement>('.tab')) t.classList.toggle('active', t === tab);
    $('view-live').hidden = view !== 'live';
    $('view-review').hidden = view !== 'review';
    if (view === 'review') void review.load();
  });
}

// Server-Sent Events: the daemon pushes at its bounded rate; EventSource reconnects by itself.
const events = new EventSource('/api/live');
events.addEventListener('open', () => {
  connection.textContent = 'live';
  connection.className = 'conn live';
});
events.addEventListener('error', () => {
  connection.textContent = 'reconnecting…';
  connection.className = 'conn down';
});
events.addEventListener('update', (e) => {
  const u = JSON.parse((e as MessageEvent<string>).data) as LiveUpdate;
  $('station').textContent = u.station;
  document.title = `inspectd · ${u.station}`;
  live.update(u);
  review.setCameras(u.cameras.map((c) => c.name));
  document.body.dataset.lastUpdate = String(u.at);
});
