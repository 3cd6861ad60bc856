import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { CommandDesk } from '../ops/commands.js';
import type { Operations } from '../ops/operations.js';
import type { OperatorPage } from '../outputs/operator-page/operator-page.js';
import type { CommandAuth } from './auth.js';
import { registerPageRoutes } from './page-routes.js';

export interface HttpOptions {
  host: string;
  port: number;
  /** The operator page (its built assets here); absent: the server has only metrics and health. */
  page?: { assetsDir: string };
  /** Checks the bearer token of every state-changing route (src/http/auth.ts), the page's marking included. */
  auth: CommandAuth;
  /** Runs the commands the state-changing routes stand for (the same desk MQTT commands go to). */
  commands: CommandDesk;
}

/**
 * The daemon's one HTTP server: `/metrics` (Prometheus text format), `/healthz` (alive: 200, or
 * 503 while the pipeline is stalled) and `/readyz` (200 ready / 503 not, JSON detail of every
 * check), open to anybody who can reach them; and `POST /reload`, which changes state and so needs
 * the bearer token (`Authorization: Bearer …`, checked by auth.ts's preHandler). Fastify, because it
 * already speaks pino and the operator page will share this server. Loopback by default: nothing is
 * exposed to the plant network unless `http.host` says so.
 */
export class HttpServer {
  private readonly app: FastifyInstance;
  /** The address actually bound (port 0 in config means the kernel chose one). */
  address: { host: string; port: number } | undefined;
  private page: OperatorPage | undefined;

  constructor(
    private readonly ops: Operations,
    private readonly opts: HttpOptions,
    private readonly log: Logger,
  ) {
    // Requests are not logged: a scrape every 15 s would be most of the log.
    // forceCloseConnections: a browser holding the page's live stream (and reconnecting it) kept the
    // server's close, and so the daemon's stop, waiting past a minute; at stop every connection is cut.
    this.app = Fastify({ loggerInstance: log.child({ event: 'http.server' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), forceCloseConnections: true });
    this.routes();
    if (opts.page) registerPageRoutes(this.app, () => this.page, opts.auth, opts.page.assetsDir);
  }

  /** The daemon has started: the page's API answers from here on. */
  attachPage(page: OperatorPage | undefined): void {
    this.page = page;
  }

  private routes(): void {
    const { app, ops } = this;
    app.get('/metrics', async (_req, reply) => {
      const text = await ops.metrics.exposition();
      return reply.type(ops.metrics.contentType).send(text);
    });
    app.get('/healthz', async (_req, reply) => {
      const live = ops.health.liveness();
      return reply.code(live.alive ? 200 : 503).send({ status: live.alive ? 'ok' : 'stalled', ...live, uptimeS: Math.round(process.uptime()) });
    });
    app.get('/readyz', async (_req, reply) => {
      const r = ops.health.readiness();
      ops.metrics.ready.set(r.ready ? 1 : 0);
      return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', ...r, summary: ops.statusLine() });
    });
    // State-changing routes: every one takes the token check, so none can be added without it.
    app.register(async (changes) => {
      changes.addHook('preHandler', this.opts.auth.preHandler);
      changes.post('/reload', async (_req, reply) => {
        const result = await this.opts.commands.run('reload', null, 'http');
        // 409: the request was fine, the config it asked for was not (the old one keeps running).
        return reply.code(result.ok ? 200 : 409).send(result);
      });
      changes.post('/pause', async (_req, reply) => reply.send(await this.opts.commands.run('pause', null, 'http')));
      changes.post('/resume', async (_req, reply) => reply.send(await this.opts.commands.run('resume', null, 'http')));
    });
  }

  /**
   * Listens, or logs why not and carries on: the line's verdicts matter more than its metrics, so a
   * taken port must not stop inspection (Prometheus shows the target down, and the log says why).
   */
  async start(): Promise<boolean> {
    try {
      await this.app.listen({ host: this.opts.host, port: this.opts.port });
    } catch (err) {
      this.log.error({ event: 'http.listen_failed', code: 'INSPECTD_HTTP', host: this.opts.host, port: this.opts.port, err: errorMessage(err) }, 'metrics and health server could not listen; the line runs without it');
      return false;
    }
    const addr = this.app.server.address();
    if (addr && typeof addr === 'object') this.address = { host: addr.address, port: addr.port };
    this.log.info({ event: 'http.listening', ...this.address, paths: ['/metrics', '/healthz', '/readyz', 'POST /reload', 'POST /pause', 'POST /resume', ...(this.opts.page ? ['/ (operator page)'] : [])] }, 'metrics and health server listening');
    return true;
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
