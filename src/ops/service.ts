import type { Logger } from 'pino';
import type { ConfigOverrides } from '../config/load.js';
import { reloadConfig, type ReloadPlan } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { join } from 'node:path';
import { BearerCheck } from '../http/auth.js';
import { HttpServer } from '../http/server.js';
import type { OperatorPage } from '../outputs/operator-page/operator-page.js';
import { packageRoot } from '../paths.js';
import { Operations } from './operations.js';
import type { PipelineProbes } from './telemetry.js';

/** What the service needs from the daemon it runs. */
export interface ServedDaemon {
  probes(): PipelineProbes;
  applyLive(next: Config, plan: ReloadPlan): void;
  operatorPage?(): OperatorPage | undefined;
}

export interface ServiceOptions {
  config: Config;
  log: Logger;
  version: string;
  /** The config file and command-line overrides the daemon started with: a reload re-reads them. */
  configPath: string | undefined;
  overrides: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

/**
 * The daemon as a service: operations (metrics, health, systemd notifications) plus the HTTP server
 * that shows them, and config reload. `inspectd run` creates one around the Daemon and calls, in
 * order: listen() → [daemon.start()] → started() → reload() on SIGHUP → stopping() → [daemon.stop()] → close().
 */
export class Service {
  readonly ops: Operations;
  readonly http: HttpServer | undefined;
  private config: Config;
  private daemon: ServedDaemon | undefined;
  private reloads: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ServiceOptions) {
    this.config = opts.config;
    this.ops = new Operations({ config: opts.config, log: opts.log, version: opts.version, env: opts.env });
    const h = opts.config.http;
    // The token file is read here, once: unreadable or empty is a config error (exit 78) before anything starts.
    const page = h.enabled && opts.config.page.enabled ? { assetsDir: join(packageRoot(), 'dist', 'page'), auth: BearerCheck.fromConfig(h) } : undefined;
    this.http = h.enabled ? new HttpServer(this.ops, { host: h.host, port: h.port, ...(page ? { page } : {}) }, opts.log.child({ component: 'http' })) : undefined;
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
  }

  /**
   * SIGHUP / systemctl reload. Reloads run one after another; each is applied between two frames or
   * refused as a whole (RELOADING=1, then READY=1 either way: the daemon is running its config).
   */
  reload(): Promise<void> {
    this.reloads = this.reloads.then(() => {
      const daemon = this.daemon;
      const log = this.opts.log.child({ component: 'config' });
      if (!daemon) {
        log.warn({ event: 'config.reload_refused', code: 'INSPECTD_RELOAD_REFUSED' }, 'reload asked for before the daemon finished starting; ignored');
        return;
      }
      this.ops.reloading();
      const outcome = reloadConfig({
        path: this.opts.configPath,
        overrides: this.opts.overrides,
        current: this.config,
        apply: (next, plan) => daemon.applyLive(next, plan),
        log,
      });
      if (outcome.result === 'applied') this.config = outcome.config;
      this.ops.reloaded(outcome.result);
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
