import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/** One thread of this process as the kernel has it: /proc/self/task/TID/stat field 41 (policy) and 19 (nice). */
function scheduling(tid: string): { policy: number; nice: number } {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
  return { policy: Number(f[38]), nice: Number(f[16]) };
}
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/** The tids of this process's threads under SCHED_IDLE now. */
function idleThreads(): string[] {
  return readdirSync('/proc/self/task').filter((tid) => {
    try {
      return scheduling(tid).policy === SCHED_IDLE;
    } catch {
      return false; // ended between the listing and the read
    }
  });
}

let worker: Worker | undefined;
afterEach(async () => {
  await worker?.terminate();
  worker = undefined;
});

/** A worker thread that calls setThisThreadPolicy on itself (the compiled module, as worker.ts runs it) and stays alive to be looked at. */
function threadAsking(policy: string, nice: number): Promise<{ tid: string; answer: string }> {
  const module = pathToFileURL(join(packageRoot(), 'dist/src/ops/thread-priority.js')).href;
  worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     import(${JSON.stringify(module)}).then((m) => {
       parentPort.postMessage({ tid: m.thisThreadId(), answer: m.setThisThreadPolicy(${JSON.stringify(policy)}, ${nice}) });
       setInterval(() => {}, 1000);
     });`,
    { eval: true },
  );
  return new Promise((resolve, reject) => {
    worker!.once('message', resolve);
    worker!.once('error', reject);
  });
}

describe('a thread that yields to the line (opcua.policy)', () => {
  it('idle: that thread alone is under SCHED_IDLE as the kernel reports it, and says so', async () => {
    const { tid, answer } = await threadAsking('idle', 5);
    expect(tid).not.toBe(String(process.pid));
    expect(answer).toBe('SCHED_IDLE');
    expect(scheduling(tid).policy).toBe(SCHED_IDLE);
    // Not the process: the main thread and every other thread keep the normal policy.
    expect(idleThreads()).toEqual([tid]);
    expect(scheduling(String(process.pid))).toEqual({ policy: SCHED_OTHER, nice: 0 });
  });

  it('nice: the normal policy at the nice value asked for, the main thread untouched', async () => {
    const { tid, answer } = await threadAsking('nice', 7);
    expect(answer).toBe('nice 7');
    expect(scheduling(tid)).toEqual({ policy: SCHED_OTHER, nice: 7 });
    expect(idleThreads()).toEqual([]);
    expect(scheduling(String(process.pid))).toEqual({ policy: SCHED_OTHER, nice: 0 });
  });
});
