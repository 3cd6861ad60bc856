import { z } from 'zod';
import type { Frame, FrameSource } from './frame.js';

/** What a PLC publishes on `{prefix}/{station}/trigger`: inspect this part on this camera now. */
const triggerSchema = z
  .object({
    camera: z.string().min(1),
    partId: z.string().min(1).max(200),
    /** The PLC's own timestamp (epoch ms), echoed in logs; the deadline counts from arrival. */
    ts: z.number().optional(),
  })
  .strict();

export type TriggerRequest = z.infer<typeof triggerSchema>;

/** Why a trigger changed nothing, as the PLC reads it on `{prefix}/{station}/trigger/error`. */
export interface TriggerRejection {
  code: 'INSPECTD_TRIGGER_INVALID' | 'INSPECTD_TRIGGER_UNKNOWN_CAMERA' | 'INSPECTD_TRIGGER_DUPLICATE' | 'INSPECTD_TRIGGER_PAUSED';
  message: string;
  /** The trigger as received (parsed when it was JSON, else the raw text). */
  trigger: unknown;
}

interface Pending {
  partId: string;
  arrivedAt: number;
  /** The camera's deadline when the trigger came (a reload changes it for later triggers only). */
  deadlineMs: number;
  timer: NodeJS.Timeout;
}

export interface TriggerDeskEvents {
  /** A trigger's deadline passed with no frame (or its camera went away): the part's verdict must be TIMEOUT now. */
  noFrame(camera: string, partId: string, arrivedAt: number, deadlineMs: number): void;
  rejected(rejection: TriggerRejection): void;
  /** A camera's deadline now, read per trigger: a live reload may change it. */
  deadlineOf(camera: string): number;
}

/**
 * The PLC's side of a triggered line: every trigger asks for exactly one inspection. A trigger is
 * kept until a frame of its camera arrives (that frame is then the part: it carries the partId,
 * and its deadline counts from the trigger) or until its deadline, when the part gets TIMEOUT.
 * Frames of a triggered camera with no trigger waiting are not parts and are not judged.
 */
export class TriggerDesk {
  private readonly pending = new Map<string, Pending[]>();
  /** The triggered cameras running now, by name; they come and go with the cameras (start, reload). */
  private readonly cameras = new Map<string, FrameSource>();
  private closed = false;
  private paused = false;

  constructor(private readonly events: TriggerDeskEvents) {}

  /**
   * The line paused by an operator: new triggers are refused at once (the PLC rejects the part
   * rather than wait out its deadline); those already waiting keep theirs and end as usual.
   */
  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  isTriggered(camera: string): boolean {
    return this.cameras.has(camera);
  }

  /** A triggered camera started (at start or by a reload): triggers naming it are taken from now on. */
  addCamera(camera: string, source: FrameSource): void {
    this.cameras.set(camera, source);
  }

  /**
   * A triggered camera stopped (a reload removed or re-sourced it): triggers naming it are rejected
   * from now on, and those still waiting get their TIMEOUT now; no frame of that source will come.
   */
  removeCamera(camera: string): void {
    this.cameras.delete(camera);
    for (const entry of this.pending.get(camera)?.splice(0) ?? []) {
      clearTimeout(entry.timer);
      this.events.noFrame(camera, entry.partId, entry.arrivedAt, entry.deadlineMs);
    }
  }

  /** A trigger message from the broker; anything malformed, unknown or duplicate is rejected, changing nothing. */
  accept(payload: Buffer | string, arrivedAt = Date.now()): void {
    const text = payload.toString();
    let raw: unknown = text.slice(0, 500);
    let json = true;
    try {
      raw = JSON.parse(text);
    } catch {
      json = false;
    }
    const rejection = json || this.closed ? this.request(raw, arrivedAt) : { code: 'INSPECTD_TRIGGER_INVALID' as const, message: 'trigger is not JSON', trigger: raw };
    if (rejection) this.events.rejected(rejection);
  }

  /**
   * A trigger from any channel (the MQTT topic, the OPC UA Trigger method), already decoded. Returns
   * why it changed nothing, or undefined when the part is now waiting for its frame; the caller
   * tells the PLC on its own channel.
   */
  request(raw: unknown, arrivedAt = Date.now()): TriggerRejection | undefined {
    if (this.closed) {
      // Stopping: no frame will be taken for it, and the log may already be closing. Say so now.
      return { code: 'INSPECTD_TRIGGER_INVALID', message: 'inspectd is stopping: this part gets no inspection (reject it)', trigger: raw };
    }
    if (this.paused) {
      return { code: 'INSPECTD_TRIGGER_PAUSED', message: 'inspection is paused by an operator: this part gets no inspection (reject it)', trigger: raw };
    }
    const parsed = triggerSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { code: 'INSPECTD_TRIGGER_INVALID', message: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, trigger: raw };
    }
    const t = parsed.data;
    const source = this.cameras.get(t.camera);
    if (!source) {
      return { code: 'INSPECTD_TRIGGER_UNKNOWN_CAMERA', message: `no camera "${t.camera}" in triggered mode (cameras[].trigger: mqtt or opcua)`, trigger: raw };
    }
    const queue = this.pending.get(t.camera) ?? [];
    if (queue.some((p) => p.partId === t.partId)) {
      return { code: 'INSPECTD_TRIGGER_DUPLICATE', message: `part ${t.partId} already has a trigger waiting on camera ${t.camera}`, trigger: raw };
    }
    const deadlineMs = this.events.deadlineOf(t.camera);
    const entry: Pending = {
      partId: t.partId,
      arrivedAt,
      deadlineMs,
      timer: setTimeout(() => this.expire(t.camera, entry), Math.max(0, arrivedAt + deadlineMs - Date.now())),
    };
    queue.push(entry);
    this.pending.set(t.camera, queue);
    // A camera that can take a frame on request does so now, like a hardware-triggered line camera.
    source.trigger?.();
    return undefined;
  }

  /** A frame from a triggered camera: the oldest waiting part's, or undefined when none waits (not a part). */
  tag(frame: Frame): Frame | undefined {
    const queue = this.pending.get(frame.camera);
    const next = queue?.shift();
    if (!next) return undefined;
    clearTimeout(next.timer);
    return { ...frame, partId: next.partId, triggeredAt: next.arrivedAt };
  }

  private expire(camera: string, entry: Pending): void {
    const queue = this.pending.get(camera);
    const i = queue?.indexOf(entry) ?? -1;
    if (i < 0) return;
    // A timer can fire up to 1 ms early by Date.now() (Node's cached loop clock): never a TIMEOUT
    // before the part's deadline.
    const left = entry.arrivedAt + entry.deadlineMs - Date.now();
    if (left > 0) {
      entry.timer = setTimeout(() => this.expire(camera, entry), left);
      return;
    }
    queue!.splice(i, 1);
    this.events.noFrame(camera, entry.partId, entry.arrivedAt, entry.deadlineMs);
  }

  /** Triggers still waiting (clean stop: each gets its TIMEOUT now rather than never). */
  flush(): void {
    this.closed = true;
    for (const [camera, queue] of this.pending) {
      for (const entry of queue.splice(0)) {
        clearTimeout(entry.timer);
        this.events.noFrame(camera, entry.partId, entry.arrivedAt, entry.deadlineMs);
      }
    }
  }
}
