import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Debian's firefox-esr driven over WebDriver BiDi by this small client, not by playwright-core:
 * playwright-core 1.65 does speak BiDi to a stock Firefox (channel 'moz-firefox', executablePath
 * /usr/bin/firefox-esr), but every new context it makes sends `emulation.setMediaFeaturesOverride`,
 * which Firefox ESR 153 does not implement ("Protocol error (emulation.setMediaFeaturesOverride):
 * unknown command"), so no page can be opened. The commands below are the ones ESR has. The
 * WebSocket is `ws` as playwright-core exports it (lib/utilsBundle): Node 20 has no WebSocket
 * without a flag.
 */
interface Socket {
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'open' | 'close', cb: () => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  send(data: string): void;
  close(): void;
}
const { ws: WebSocket } = createRequire(import.meta.url)('playwright-core/lib/utilsBundle') as { ws: new (url: string, opts?: object) => Socket };

/**
 * Preferences for a browser that reaches nothing but loopback: Firefox's remote agent already sets
 * its recommended automation preferences (remote.prefs.recommended); these also stop the remote
 * settings, captive-portal and connectivity checks it would otherwise make at start.
 */
const PREFS: Record<string, string | number | boolean> = {
  'services.settings.server': 'http://127.0.0.1:9/',
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.update.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'app.update.disabledForTesting': true,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.page': 0,
  'browser.newtabpage.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
};

type Rect = { x: number; y: number; width: number; height: number };

export class FirefoxPage {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly proc: ChildProcess,
    private readonly socket: Socket,
    private readonly profile: string,
    private context = '',
  ) {
    socket.on('message', (data) => {
      const msg = JSON.parse(data.toString('utf8')) as { id?: number; type: string; result?: unknown; error?: string; message?: string };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.type === 'error') p.reject(new Error(`${msg.error}: ${msg.message}`));
      else p.resolve(msg.result);
    });
  }

  /** A fresh profile, headless, at this viewport size. */
  static async launch(viewport: { width: number; height: number }): Promise<FirefoxPage> {
    const profile = mkdtempSync(join(tmpdir(), 'inspectd-firefox-'));
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
    const proc = spawn('/usr/bin/firefox-esr', ['--headless', '--remote-debugging-port=0', '--no-remote', '--profile', profile, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`firefox-esr did not start its WebDriver BiDi server in 30 s: ${err.slice(-2000)}`)), 30_000);
      proc.stderr!.on('data', (d: Buffer) => {
        err += d.toString('utf8');
        const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      proc.on('exit', (code) => reject(new Error(`firefox-esr exited (${code}) before its BiDi server started: ${err.slice(-2000)}`)));
    });
    const socket = new WebSocket(`${url}/session`);
    await new Promise<void>((resolve, reject) => {
      socket.on('open', resolve);
      socket.on('error', reject);
    });
    const page = new FirefoxPage(proc, socket, profile);
    await page.send('session.new', { capabilities: {} });
    const tree = (await page.send('browsingContext.getTree', {})) as { contexts: { context: string }[] };
    page.context = tree.contexts[0]!.context;
    await page.setViewport(viewport);
    return page;
  }

  send(method: string, params: object): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async setViewport(viewport: { width: number; height: number }): Promise<void> {
    await this.send('browsingContext.setViewport', { context: this.context, viewport });
  }

  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /**
   * Runs fn in the page with arg (both through JSON) and returns its result; fn must not use
   * anything from this file's scope (it is sent as source).
   */
  async evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    const out = (await this.send('script.callFunction', {
      functionDeclaration: `async (json) => { const r = await (${fn.toString()})(JSON.parse(json)); return r === undefined ? undefined : JSON.stringify(r); }`,
      arguments: [{ type: 'string', value: JSON.stringify(arg ?? null) }],
      awaitPromise: true,
      target: { context: this.context },
    })) as { type: 'success' | 'exception'; result?: { type: string; value?: string }; exceptionDetails?: { text: string } };
    if (out.type === 'exception') throw new Error(`in Firefox: ${out.exceptionDetails?.text}`);
    return (out.result?.type === 'string' ? JSON.parse(out.result.value!) : undefined) as R;
  }

  /** Polls fn in the page until it returns something other than undefined/null/false. */
  async waitFor<A, R>(what: string, fn: (arg: A) => R | undefined | null | false, arg?: A, timeoutMs = 20_000): Promise<R> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.evaluate(fn, arg);
      if (r !== undefined && r !== null && r !== false) return r as R;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting in Firefox for ${what}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  private async rectOf(selector: string): Promise<Rect> {
    const r = await this.waitFor(`${selector} to be shown`, (sel: string) => {
      const e = document.querySelector(sel);
      if (!e) return undefined;
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.height > 0 ? { x: b.x, y: b.y, width: b.width, height: b.height } : undefined;
    }, selector);
    return r;
  }

  /** A mouse click (pointer input, not element.click()) in the middle of the element. */
  async click(selector: string): Promise<void> {
    await this.evaluate((sel: string) => document.querySelector(sel)!.scrollIntoView({ block: 'center' }), selector);
    const r = await this.rectOf(selector);
    await this.send('input.performActions', {
      context: this.context,
      actions: [
        {
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [
            { type: 'pointerMove', x: Math.round(r.x + r.width / 2), y: Math.round(r.y + r.height / 2) },
            { type: 'pointerDown', button: 0 },
            { type: 'pointerUp', button: 0 },
          ],
        },
      ],
    });
    await this.send('input.releaseActions', { context: this.context });
  }

  /** Clicks into a field and types text on the keyboard. */
  async type(selector: string, text: string): Promise<void> {
    await this.click(selector);
    await this.send('input.performActions', {
      context: this.context,
      actions: [{ type: 'key', id: 'keyboard', actions: [...text].flatMap((c) => [{ type: 'keyDown', value: c }, { type: 'keyUp', value: c }]) }],
    });
  }

  /** A PNG of this element's box on the screen. */
  async screenshot(selector: string): Promise<Buffer> {
    const r = await this.rectOf(selector);
    const out = (await this.send('browsingContext.captureScreenshot', { context: this.context, clip: { type: 'box', ...r } })) as { data: string };
    return Buffer.from(out.data, 'base64');
  }

  async close(): Promise<void> {
    await this.send('browser.close', {}).catch(() => {});
    this.socket.close();
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      const t = setTimeout(() => {
        this.proc.kill('SIGKILL');
        resolve();
      }, 5000);
      this.proc.on('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    rmSync(this.profile, { recursive: true, force: true });
  }
}
