/**
 * The messages between the daemon's main thread and the OPC UA server's thread (worker.ts). The
 * server runs node-opcua there so that its CPU (loading the nodesets at start, encoding values,
 * serving subscriptions and sessions) and its heap (collected by that thread's own GC) stay off
 * the frame path; the main thread only posts what happened and answers the Trigger method.
 */
import type { LoadedConfig } from '../../config/running-config.js';
import type { CameraState, StorageState } from '../../ops/telemetry.js';
import type { ThreadPolicy } from '../../ops/thread-priority.js';
import type { TriggerRejection } from '../../source/trigger.js';
import type { ModelInfo, VerdictMessage } from '../../verdict/types.js';
import type { CameraDescription } from './address-space.js';
import type { OpcuaSecuritySettings } from './security.js';

/** What the server thread is started with (its workerData). */
export interface StationSetup {
  station: string;
  version: string;
  host: string;
  port: number;
  applicationUri: string;
  security: OpcuaSecuritySettings;
  /** opcua.usersFile, already read once on the main thread (a bad one is exit 78 before the thread starts). */
  usersFile: string | undefined;
  allowAnonymous: boolean;
  cameras: CameraDescription[];
  storage: StorageState;
  /** The verdict log's file: ResultManagement reads it on the server's thread, read-only. */
  verdictLog: string;
  /** opcua.nice and opcua.policy: the thread sets them on itself before loading node-opcua. */
  nice: number;
  policy: ThreadPolicy;
  /** opcua.coalesceMs: read by the main thread's OpcuaOutput (verdicts posted in batches), not by the thread. */
  coalesceMs: number;
  /** The daemon's log level: the thread's log lines below it are not even sent. */
  logLevel: string;
}

/** Main thread → server thread, applied in the order posted. */
export type ToStation =
  | { type: 'start' }
  | { type: 'decided'; msg: VerdictMessage }
  /** opcua.coalesceMs > 0: the verdicts of that many ms, in decision order. */
  | { type: 'decided-batch'; msgs: VerdictMessage[] }
  | { type: 'camera-state'; camera: string; state: CameraState; reason: string | undefined }
  | { type: 'storage-state'; state: StorageState; reason: string | undefined }
  | { type: 'paused'; paused: boolean }
  /** A live reload added or restarted this camera (its nodes are made, or its model and mode shown anew). */
  | { type: 'camera-declared'; camera: CameraDescription }
  /** A live reload removed this camera: its nodes go. */
  | { type: 'camera-forgotten'; camera: string }
  /** A live reload swapped this camera's model. */
  | { type: 'camera-model'; camera: string; model: ModelInfo }
  /** The desk's answer to a Trigger call the thread passed on (undefined: accepted). */
  | { type: 'trigger-answer'; id: number; rejection: TriggerRejection | undefined }
  /** The daemon's answer to a Halt or Reset the thread passed on: whether the line paused or resumed. */
  | { type: 'line-answer'; id: number; done: boolean }
  /** The daemon's answer to a config question: the file it runs (undefined: no daemon), and how an activation went. */
  | { type: 'config-answer'; id: number; loaded: LoadedConfig | undefined; activation: ConfigActivation | undefined }
  | { type: 'stop' };

/** How ActivateConfiguration's live reload went: changed = the file's hash is no longer the one asked for. */
export interface ConfigActivation {
  result: 'applied' | 'refused' | 'changed' | 'unsupported';
  /** Why a reload was refused (path: message), as config.reload_refused logs them. */
  issues: string[];
}

/** Server thread → main thread. */
export type FromStation =
  /** priority: the thread's scheduling as the kernel then had it ('SCHED_IDLE', 'nice 5'; or why the one asked for could not be set), for the listening log line. */
  | { type: 'listening'; endpointUrl: string; endpoints: string[]; priority: string }
  | { type: 'failed'; message: string }
  /** One pino JSON line of the thread's logger (node-opcua's warnings included), for the daemon's log. */
  | { type: 'log'; line: string }
  /** A client called Trigger; the main thread asks the trigger desk and answers with trigger-answer. */
  | { type: 'trigger'; id: number; camera: string; partId: string; arrivedAt: number }
  /** A client called Halt or Reset; the main thread pauses or resumes the line and answers with line-answer. */
  | { type: 'line'; id: number; action: 'halt' | 'reset' }
  /** ConfigurationManagement asks what runs; with activate (a file hash), a live reload of that file first. */
  | { type: 'config'; id: number; activate?: string }
  /**
   * busyPct: the thread's event-loop utilisation from listening to stop, in % (its CPU, near enough, GC helpers aside);
   * cpuMs: its CPU time in that interval (schedstat: not inflated by waiting for a core); verdicts: how many it applied.
   */
  | { type: 'stopped'; busyPct: number; cpuMs: number | undefined; verdicts: number };
