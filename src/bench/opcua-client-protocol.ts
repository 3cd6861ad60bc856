/** Messages between the bench and its OPC UA client when that runs in a process of its own (opcua-client-process.ts). */
export type ToOpcuaClient = { type: 'count'; on: boolean } | { type: 'report' };

export type FromOpcuaClient =
  | { type: 'subscribed' }
  | { type: 'failed'; message: string }
  /** What it counted: each camera's Seq notifications, the ResultJson ones, its CPU while counting (ms), each Seq's receipt minus its decidedAt (ms), and its scheduling as the kernel has it ('SCHED_IDLE', 'nice 19'). */
  | { type: 'report'; seqs: [string, number[]][]; jsonNotifications: number; cpuMs: number; lateMs: number[]; placement: string };
