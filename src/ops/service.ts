import type { Logger } from 'pino';
import type { ConfigOverrides } from '../config/load.js';
import { reloadConfig, type AppliedChanges, type ReloadOutcome, type ReloadPlan } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { join } from 'node:path';
import { loadCommandAuth, type CommandAuth } from '../http/auth.js';
import { HttpServer } from '../http/server.js';
import type { OperatorPage } from '../outputs/operator-page/operator-page.js';
import { packageRoot } from '../paths.js';
import { CommandDesk } from './commands.js';
import { Operations } from './operations.js';
import type { PipelineProbes } from './telemetry.js';

/** What the service needs from the daemon it runs. */
export interface ServedDaemon {
  probes(): PipelineProbes;
  applyLive(next: Config, plan: ReloadPlan): Promise<AppliedChanges | void> | AppliedChanges | void;
  operatorPage?(): OperatorPage | undefined;
  /** Where remote commands arrive and are answered (the daemon's MQTT connection), once started. */
  commandChannel(): CommandChannel | undefined;
  /** Operator pause and resume (the `pause`/`resume` commands); each answers whether it changed anything. */
  pause(via: string): boolean;
  resume(via: string): boolean;
}

/** Messages from the plant on `{prefix}/{station}/{subtopic}` and answers to them (the MQTT publisher). */
export interface CommandChannel {
  listen(subtopic: string, handler: (payload: Buffer) => void): void;
  say(subtopic: string, payload: unknown): void;
}

export interface ServiceOptions {
  config: Config;
  log: Logger;
  version: string;
  /** The config file and command-line overrides the daemon started with: a reload re-reads them. */
  configPath: string | undefined;
  overrides: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  /** The token check for state-changing commands; read from config (http.tokenFile) when not given. */
  auth?: CommandAuth;
}

/**
 * The daemon as a service: operations (metrics, health, systemd notifications) plus the HTTP server
 * that shows them, and config reload. `inspectd run` creates one around the Daemon and calls, in
 * order: listen() → [daemon.start()] → started() → reload() on SIGHUP → stopping() → [daemon.stop()] → close().
 */
export class Service {
  readonly ops: Operations;
  readonly http: HttpServer | undefined;
  readonly commands: CommandDesk;
  private config: Config;
  private daemon: ServedDaemon | undefined;
  private reloads: Promise<ReloadOutcome> = Promise.resolve({ result: 'refused', issues: [] });

  /** Throws a ConfigError (exit 78) when http.tokenFile is named but cannot be read. */
  constructor(private readonly opts: ServiceOptions) {
    this.config = opts.config;
    this.ops = new Operations({ config: opts.config, log: opts.log, version: opts.version, env: opts.env });
    const auth = opts.auth ?? loadCommandAuth(opts.config.http, opts.env);
    this.commands = new CommandDesk(auth, { reload: () => this.reload(), status: () => this.status(), pause: (paused, via) => this.pause(paused, via) }, opts.log);
    const h = opts.config.http;
    const page = h.enabled && opts.config.page.enabled ? { assetsDir: join(packageRoot(), 'dist', 'page') } : undefined;
    this.http = h.enabled ? new HttpServer(this.ops, { host: h.host, port: h.port, auth, commands: this.commands, ...(page ? { page } : {}) }, opts.log.child({ component: 'http' })) : undefined;
  }

  /** Before the daemon starts, so /healthz answers (and /readyz says why not ready) while the model loads. */
  async listen(): Promise<void> {
    await this.http?.start();
  }

  started(daemon: ServedDaemon): void {
    this.daemon = daemon;
    this.ops.attach(daemon.probes());
    const page = daemon.operatorPage?.();
    // The page shows the same camera, broker, storage and model state as /readyz.
    page?.feed.attachStatus(() => this.ops.health.readiness().checks);
    this.http?.attachPage(page);
    this.ops.started();
    // Remote commands: each answered once on cmd/reply, never a crash (CommandDesk.handle does not throw).
    const channel = daemon.commandChannel();
    channel?.listen('cmd', (payload) => void this.commands.handle(payload).then((reply) => channel.say('cmd/reply', reply)));
  }

  /** The `pause` and `resume` commands; before the daemon has started there is nothing to pause. */
  pause(paused: boolean, via: string): { changed: boolean; paused: boolean } {
    const d = this.daemon;
    if (!d) return { changed: false, paused: false };
    const changed = paused ? d.pause(via) : d.resume(via);
    if (changed) this.ops.notifyStatus();
    return { changed, paused: d.probes().paused?.() !== undefined };
  }

  /** What the `status` command answers: the same as /readyz. */
  status(): Record<string, unknown> {
    const r = this.ops.health.readiness();
    return { status: r.ready ? 'ready' : 'not ready', ...r, summary: this.ops.statusLine() };
  }

  /**
   * SIGHUP / systemctl reload. Reloads run one after another; each is applied between two frames or
   * refused as a whole (RELOADING=1, then READY=1 either way: the daemon is running its config).
   */
  reload(): Promise<ReloadOutcome> {
    this.reloads = this.reloads.then(async (): Promise<ReloadOutcome> => {
      const daemon = this.daemon;
      const log = this.opts.log.child({ component: 'config' });
      if (!daemon) {
        const issue = { path: '(daemon)', message: 'reload asked for before the daemon finished starting; ignored' };
        log.warn({ event: 'config.reload_refused', code: 'INSPECTD_RELOAD_REFUSED', issues: [issue] }, issue.message);
        return { result: 'refused', issues: [issue] };
      }
      this.ops.reloading();
      const outcome = await reloadConfig({
        path: this.opts.configPath,
        overrides: this.opts.overrides,
        current: this.config,
        apply: (next, plan) => daemon.applyLive(next, plan),
        log,
      });
      if (outcome.result === 'applied') this.config = outcome.config;
      this.ops.reloaded(outcome.result);
      return outcome;
    });
    return this.reloads;
  }

  stopping(): void {
    this.ops.stopping();
  }

  async close(): Promise<void> {
    this.ops.close();
    await this.http?.stop();
  }
}
