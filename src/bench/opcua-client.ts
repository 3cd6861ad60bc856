import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { compiledWorker } from '../util/worker-path.js';
import type { FromOpcuaClient, ToOpcuaClient } from './opcua-client-protocol.js';
import { BenchOpcuaSubscriber } from './opcua-subscriber.js';

/**
 * Where the bench's OPC UA client runs. idle: a process of its own under SCHED_IDLE (nice 19 where
 * chrt is missing), so that it takes a core only when the daemon leaves one idle, as a client on
 * another machine would take none; inline: in the bench process at its priority, as the rounds
 * before 2026-12-02 ran it (its CPU competed with the daemon's).
 */
export type OpcuaClientMode = 'idle' | 'inline';

export interface OpcuaClientCount {
  /** Each camera's LastResult.Seq values received while counting. */
  seqs: ReadonlyMap<string, number[]>;
  jsonNotifications: number;
  /** Per Seq notification: its receipt minus the verdict's decidedAt, ms. */
  lateMs: readonly number[];
  /** The client's CPU while counting, ms (idle: its own process; inline: part of the bench process's). */
  cpuMs?: number;
  /** 'SCHED_IDLE' or 'nice N' (its own process, as the kernel had it), or 'inline'. */
  placement: string;
}

export interface BenchOpcuaClient {
  count(on: boolean): void;
  /** What it counted; the client then disconnects. */
  finish(): Promise<OpcuaClientCount>;
  /** Ends it at once (after a failure). */
  kill(): Promise<void>;
}

export async function openOpcuaClient(mode: OpcuaClientMode, url: string, pkiDir: string, station: string, cameras: readonly string[]): Promise<BenchOpcuaClient> {
  if (mode === 'inline') return new InlineClient(await BenchOpcuaSubscriber.open(url, pkiDir, station, cameras));
  return IdleClient.start(url, pkiDir, station, cameras);
}

class InlineClient implements BenchOpcuaClient {
  constructor(private readonly sub: BenchOpcuaSubscriber) {}
  count(on: boolean): void {
    this.sub.counting = on;
  }
  async finish(): Promise<OpcuaClientCount> {
    await this.sub.close();
    return { seqs: this.sub.seqs, jsonNotifications: this.sub.jsonNotifications, lateMs: this.sub.lateMs, placement: 'inline' };
  }
  kill(): Promise<void> {
    return this.sub.close().catch(() => {});
  }
}

let chrtWorks: boolean | undefined;
/** SCHED_IDLE needs no privilege, but chrt (util-linux) may be absent from a slim image. */
function idlePrefix(): string[] {
  chrtWorks ??= spawnSync('chrt', ['-i', '0', 'true']).status === 0;
  return chrtWorks ? ['chrt', '-i', '0'] : ['nice', '-n', '19'];
}

class IdleClient implements BenchOpcuaClient {
  private onMessage: ((m: FromOpcuaClient) => void) | undefined;
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: FromOpcuaClient) => this.onMessage?.(m));
  }

  static start(url: string, pkiDir: string, station: string, cameras: readonly string[]): Promise<BenchOpcuaClient> {
    const prefix = idlePrefix();
    // The policy is set before node starts, so every thread of the client (libuv's, V8's) has it.
    const child = fork(compiledWorker(import.meta.url, 'opcua-client-process.js'), [url, pkiDir, station, cameras.join(',')], {
      execPath: prefix[0],
      execArgv: [...prefix.slice(1), process.execPath],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const c = new IdleClient(child);
    return c.next('subscribed', 30_000).then(() => c);
  }

  count(on: boolean): void {
    this.send({ type: 'count', on });
  }

  async finish(): Promise<OpcuaClientCount> {
    const reply = this.next('report', 10_000);
    this.send({ type: 'report' });
    const r = await reply;
    if (r.type !== 'report') throw new Error('unreachable');
    // It exits once its session is closed; one that hangs in node-opcua's disconnect is not left behind.
    setTimeout(() => void this.kill(), 5000).unref();
    return { seqs: new Map(r.seqs), jsonNotifications: r.jsonNotifications, lateMs: r.lateMs, cpuMs: Math.round(r.cpuMs), placement: r.placement };
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private next(type: 'subscribed' | 'report', timeoutMs: number): Promise<FromOpcuaClient> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(t);
        this.child.off('exit', onExit);
        reject(new Error(`bench OPC UA client: ${why}`));
      };
      const onExit = (code: number | null) => fail(`exited (${code}) before '${type}'`);
      const t = setTimeout(() => fail(`no '${type}' in ${timeoutMs} ms`), timeoutMs);
      this.child.once('exit', onExit);
      this.onMessage = (m) => {
        if (m.type === 'failed') return fail(m.message);
        if (m.type !== type) return;
        clearTimeout(t);
        this.child.off('exit', onExit);
        resolve(m);
      };
    });
  }

  private send(m: ToOpcuaClient): void {
    if (this.child.connected) this.child.send(m);
  }
}
