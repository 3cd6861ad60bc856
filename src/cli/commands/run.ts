import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type ConfigOverrides } from '../../config/load.js';
import { Daemon, type StopResult } from '../../daemon.js';
import { ConfigError, errorCode, errorMessage } from '../../errors.js';
import { createLogger } from '../../log.js';
import { Service } from '../../ops/service.js';
import { packageRoot, packageVersion } from '../../paths.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_LOG_IN_USE, EXIT_LOG_UNUSABLE, EXIT_LOG_UNWRITTEN, EXIT_OK, EXIT_STOP_HUNG } from '../exit-codes.js';
import { StopSteps } from '../../ops/stop-steps.js';

export interface RunOptions {
  config?: string;
  broker?: string;
  db?: string;
  station?: string;
  /** `--http HOST:PORT`, already parsed. */
  http?: { host: string; port: number };
}

/**
 * Runs the daemon until SIGINT/SIGTERM, then stops cleanly: in-flight frames finish, every verdict
 * is written and published, and the exit status is 0 (74 when some verdicts could not be written to
 * the log). A second signal forces exit 1.
 */
export async function runCommand(opts: RunOptions): Promise<number> {
  const overrides: ConfigOverrides = { brokerUrl: opts.broker, dbPath: opts.db, station: opts.station, http: opts.http };
  let cfg;
  try {
    cfg = loadConfig(opts.config, overrides);
  } catch (e) {
    if (e instanceof ConfigError || errorCode(e) === 'INSPECTD_CONFIG_READ') {
      process.stderr.write(`${errorMessage(e)}\n`);
      return EXIT_CONFIG;
    }
    throw e;
  }
  const log = createLogger(cfg.log);
  // Paths written in the config file were resolved against its folder when it was read; what is
  // still relative here is a built-in default (the model), which belongs to the package.
  let stopRequested: (why: string) => void = () => {};
  // Metrics, health, systemd notifications and reload live in the service around the daemon.
  let service: Service;
  try {
    // Reads http.tokenFile: a token file named but unreadable is a bad config, found before anything starts.
    service = new Service({ config: cfg, log, version: packageVersion(), configPath: opts.config, overrides });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${errorMessage(e)}\n`);
    return EXIT_CONFIG;
  }
  const daemon = new Daemon({ config: cfg, log, baseDir: packageRoot(), telemetry: service.ops, onReplaysDone: () => stopRequested('replay finished'), configFile: opts.config, reload: () => service.reload() });

  let signalled = 0;
  const stopped = new Promise<StopResult>((resolveStop) => {
    stopRequested = (why) => {
      log.info({ event: 'daemon.stopping', why }, 'stopping');
      service.stopping();
      // doStop catches each step's failure (StopSteps); should it still throw, the process must not wait on it.
      void daemon.stop().then(resolveStop, (err: unknown) => {
        log.error({ event: 'daemon.stop_failed', code: 'INSPECTD_STOP_FAILED', step: 'stop', err: errorMessage(err) }, 'stop failed');
        resolveStop({ unwritten: 0, unwrittenMarks: 0, hung: ['stop'] });
      });
    };
  });
  const onSignal = (sig: NodeJS.Signals) => {
    signalled++;
    if (signalled > 1) {
      log.error({ event: 'daemon.forced_exit', signal: sig }, 'second signal: exiting without a clean stop');
      log.flush();
      process.exit(EXIT_FAILURE);
    }
    stopRequested(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // systemctl reload (ExecReload=kill -HUP); without a handler SIGHUP would end the process.
  process.on('SIGHUP', () => void service.reload());

  try {
    await service.listen();
    await daemon.start();
  } catch (e) {
    if (errorCode(e) === 'INSPECTD_STOPPING') {
      // SIGTERM while starting: a clean stop, not a failure.
      return finishStop(await stopped, service, log);
    }
    log.fatal({ event: 'daemon.start_failed', code: errorCode(e), err: errorMessage(e), stack: e instanceof Error ? e.stack : undefined }, 'daemon failed to start');
    // A signal during the failed start's clean-up ends the process, as it would without us.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await daemon.stop().catch(() => {});
    await service.close();
    log.flush();
    process.stderr.write(`inspectd: ${errorMessage(e)}\n`);
    const code = exitStatusForStartFailure(e);
    // Everything was stopped; should a library still hold a handle, the error must not wait on it.
    setTimeout(() => process.exit(code), 1000).unref();
    return code;
  }
  log.info({ event: 'daemon.running', station: cfg.station, broker: daemon.brokerUrl, db: resolve(cfg.storage.path), http: service.http?.address }, 'inspectd running');
  service.started(daemon);
  return finishStop(await stopped, service, log);
}

/** After the daemon's stop: the HTTP server closes (bounded too), and the exit status says how the stop went. */
async function finishStop({ unwritten, hung }: StopResult, service: Service, log: Logger): Promise<number> {
  const closed = new StopSteps(log);
  await closed.run('http server', HTTP_CLOSE_LIMIT_MS, () => service.close());
  hung.push(...closed.hung);
  log.flush();
  // Verdicts that reached the PLC but not the log: the stop was not clean, say so to systemd.
  // A step left hanging (logged as daemon.stop_hung): 70, so a stop that needed it is not taken for clean.
  const code = unwritten > 0 ? EXIT_LOG_UNWRITTEN : hung.length > 0 ? EXIT_STOP_HUNG : EXIT_OK;
  // What a hung step still holds (a socket, a child process) would keep the process up: not past a second.
  if (hung.length > 0) setTimeout(() => process.exit(code), 1000).unref();
  return code;
}

/** Fastify's close waits for open requests; its connections are cut at close (src/http/server.ts). */
const HTTP_CLOSE_LIMIT_MS = 5000;

function exitStatusForStartFailure(e: unknown): number {
  // A config that names something the model lacks is still a bad config: no restart can fix it.
  if (e instanceof ConfigError) return EXIT_CONFIG;
  // The verdict log: held by another daemon, or not a log this inspectd may use (each its own status).
  const code = errorCode(e);
  if (code === 'INSPECTD_LOG_IN_USE') return EXIT_LOG_IN_USE;
  if (code === 'INSPECTD_STORE_FOREIGN' || code === 'INSPECTD_STORE_VERSION') return EXIT_LOG_UNUSABLE;
  return EXIT_FAILURE;
}
