/**
 * The OPC UA server's thread (protocol.ts says why it has one). It loads node-opcua and its
 * nodesets, listens, and only then takes the main thread's messages: until that moment they wait
 * in this thread's port, in order, so verdicts and state changes decided while the server was still
 * loading are applied (counters included) before the first client can read anything.
 */
import { performance } from 'node:perf_hooks';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { setErrorLogger, setWarningLogger } from 'node-opcua';
import pino from 'pino';
import { threadCpuMs } from '../../ops/thread-cpu.js';
import { setThisThreadPolicy } from '../../ops/thread-priority.js';
import type { TriggerRejection } from '../../source/trigger.js';
import type { FromStation, StationSetup, ToStation } from './protocol.js';
import { OpcuaStation } from './server.js';
import { readUsersFile } from './users.js';

if (!parentPort) throw new Error('the OPC UA server must run in a worker thread');
const port = parentPort;
const setup = workerData as StationSetup;
const post = (m: FromStation) => port.postMessage(m);
// First, before the nodeset load (seconds of CPU): on a small box the line's threads come first from the start.
const priority = setThisThreadPolicy(setup.policy, setup.nice);

// One root logger, the daemon's: this thread's lines go to the main thread as pino JSON and are
// written there. node-opcua prints its warnings on stdout as plain text: into the same log instead.
const log = pino({ level: setup.logLevel, base: undefined }, { write: (line: string) => post({ type: 'log', line }) });
const libLog = log.child({ lib: 'node-opcua' });
setWarningLogger((...args: unknown[]) => libLog.warn(format(...args).trim()));
setErrorLogger((...args: unknown[]) => libLog.error(format(...args).trim()));

/** Trigger calls waiting for the desk's answer from the main thread, by id. */
const waiting = new Map<number, { request: { camera: string; partId: string }; answer: (r: TriggerRejection | undefined) => void }>();
let lastTriggerId = 0;
/** Halt and Reset calls waiting for the daemon's pause or resume, by id. */
const lineCalls = new Map<number, (done: boolean) => void>();
let lastLineId = 0;
/** ConfigurationManagement's questions waiting for the daemon's answer, by id. */
const configCalls = new Map<number, (answer: Omit<Extract<ToStation, { type: 'config-answer' }>, 'type' | 'id'>) => void>();
let lastConfigId = 0;

async function main(): Promise<void> {
  let station: OpcuaStation;
  try {
    station = await OpcuaStation.open({
      ...setup,
      users: setup.usersFile ? readUsersFile(setup.usersFile) : undefined,
      trigger: (request, arrivedAt) =>
        new Promise((answer) => {
          const id = ++lastTriggerId;
          waiting.set(id, { request, answer });
          post({ type: 'trigger', id, ...request, arrivedAt });
        }),
      line: (action) =>
        new Promise((answer) => {
          const id = ++lastLineId;
          lineCalls.set(id, answer);
          post({ type: 'line', id, action });
        }),
      config: (activate) =>
        new Promise((answer) => {
          const id = ++lastConfigId;
          configCalls.set(id, answer);
          post({ type: 'config', id, ...(activate === undefined ? {} : { activate }) });
        }),
      log,
    });
  } catch (err) {
    post({ type: 'failed', message: (err as Error).message });
    return;
  }
  post({ type: 'listening', endpointUrl: station.endpointUrl, endpoints: station.endpoints, priority });
  const sinceListening = performance.eventLoopUtilization();
  const cpuAtListening = threadCpuMs();
  let verdicts = 0;
  port.on('message', (m: ToStation) => {
    switch (m.type) {
      case 'decided':
        verdicts++;
        return station.decided(m.msg);
      case 'decided-batch':
        verdicts += m.msgs.length;
        for (const msg of m.msgs) station.decided(msg);
        return;
      case 'camera-state':
        return station.setCameraState(m.camera, m.state, m.reason);
      case 'storage-state':
        return station.setStorageState(m.state, m.reason);
      case 'paused':
        return station.setPaused(m.paused);
      case 'camera-declared':
        return station.declareCamera(m.camera);
      case 'camera-forgotten':
        return station.forgetCamera(m.camera);
      case 'camera-model':
        return station.setCameraModel(m.camera, m.model);
      case 'start':
        return station.start();
      case 'trigger-answer': {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        return w?.answer(m.rejection);
      }
      case 'line-answer': {
        const answer = lineCalls.get(m.id);
        lineCalls.delete(m.id);
        return answer?.(m.done);
      }
      case 'config-answer': {
        const answer = configCalls.get(m.id);
        configCalls.delete(m.id);
        return answer?.({ loaded: m.loaded, activation: m.activation });
      }
      case 'stop': {
        const cpuNow = threadCpuMs();
        const cpuMs = cpuNow === undefined || cpuAtListening === undefined ? undefined : Math.round(cpuNow - cpuAtListening);
        void stop(station, { busyPct: Math.round(performance.eventLoopUtilization(sinceListening).utilization * 1000) / 10, cpuMs, verdicts });
      }
    }
  });
}

async function stop(station: OpcuaStation, figures: { busyPct: number; cpuMs: number | undefined; verdicts: number }): Promise<void> {
  // A call still waiting has no desk left to answer it.
  for (const { request, answer } of waiting.values()) answer({ code: 'INSPECTD_TRIGGER_INVALID', message: 'inspectd is stopping', trigger: request });
  waiting.clear();
  for (const answer of lineCalls.values()) answer(false);
  lineCalls.clear();
  for (const answer of configCalls.values()) answer({ loaded: undefined, activation: undefined });
  configCalls.clear();
  await station.stop().catch((err: Error) => log.warn({ err: err.message }, 'opc ua server shutdown failed'));
  post({ type: 'stopped', ...figures });
}

void main();
