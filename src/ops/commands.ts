import type { Logger } from 'pino';
import { z } from 'zod';
import type { ReloadOutcome } from '../config/reload.js';
import { errorCode, errorMessage } from '../errors.js';
import type { CommandAuth } from '../http/auth.js';

/**
 * Remote commands: what a SCADA or a fleet tool may ask a running daemon, on MQTT
 * (`{prefix}/{station}/cmd` → `{prefix}/{station}/cmd/reply`) and over HTTP (`POST /reload`).
 * Each command says whether it changes state; those need the token (src/http/auth.ts), the
 * read-only ones answer anybody, as the HTTP server's GET routes do.
 */
export const COMMANDS = {
  /** Re-read the config file and apply it (as SIGHUP does); the reply says what changed or why not. */
  reload: { changesState: true },
  /** Stop judging parts (cameras keep running, PLC triggers are refused) until `resume`. */
  pause: { changesState: true },
  /** Judge parts again from the next frame. */
  resume: { changesState: true },
  /** What /readyz says: every check and the one-line summary. */
  status: { changesState: false },
} as const;
export type CommandName = keyof typeof COMMANDS;

/** A command message on `…/cmd`. `id` is the caller's, echoed in the reply so it can match the two. */
const commandMessage = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int()]),
    token: z.string().optional(),
    command: z.string().min(1),
  })
  .strict();

/** The one reply to a command (on `…/cmd/reply`, or the HTTP body). */
export interface CommandReply {
  /** The command's id; null when the message was too broken to carry one. */
  id: string | number | null;
  ok: boolean;
  command?: string;
  error?: { code: string; message: string; issues?: ReadonlyArray<{ path: string; message: string }> };
  [detail: string]: unknown;
}

export interface CommandHandlers {
  reload(): Promise<ReloadOutcome>;
  status(): Record<string, unknown>;
  /** Pause or resume judging; answers whether that changed anything and the state now. */
  pause(paused: boolean, via: 'mqtt' | 'http'): { changed: boolean; paused: boolean };
}

export class CommandDesk {
  private readonly log: Logger;
  constructor(
    private readonly auth: CommandAuth,
    private readonly handlers: CommandHandlers,
    log: Logger,
  ) {
    this.log = log.child({ component: 'commands' });
  }

  /**
   * A raw MQTT payload → its reply. Never throws: a message that is not JSON, lacks a field, names no
   * known command or carries a wrong token is answered with an error and changes nothing.
   */
  async handle(payload: Buffer | string): Promise<CommandReply> {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString());
    } catch (err) {
      return this.refuse(null, undefined, 'INSPECTD_COMMAND_INVALID', `not JSON: ${errorMessage(err)}`);
    }
    const parsed = commandMessage.safeParse(raw);
    const id = rawId(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
      return this.refuse(id, undefined, 'INSPECTD_COMMAND_INVALID', `expected {id, token, command}: ${why}`);
    }
    const { command, token } = parsed.data;
    if (!isCommand(command)) return this.refuse(id, command, 'INSPECTD_COMMAND_INVALID', `unknown command "${command}" (known: ${Object.keys(COMMANDS).join(', ')})`);
    if (COMMANDS[command].changesState) {
      const refused = this.auth.checkToken(token);
      if (refused) return this.refuse(id, command, refused.code, refused.message);
    }
    return this.run(command, parsed.data.id, 'mqtt');
  }

  /** Runs a command whose token (where it needs one) has been checked already. */
  async run(command: CommandName, id: string | number | null, via: 'mqtt' | 'http'): Promise<CommandReply> {
    try {
      if (command === 'status') return { id, ok: true, command, ...this.handlers.status() };
      this.log.info({ event: 'command.received', command, id, via }, 'command received');
      if (command === 'pause' || command === 'resume') return { id, ok: true, command, ...this.handlers.pause(command === 'pause', via) };
      const outcome = await this.handlers.reload();
      if (outcome.result === 'applied') {
        const { config: _config, ...report } = outcome;
        return { id, ok: true, command, ...report };
      }
      return { id, ok: false, command, result: outcome.result, error: { code: 'INSPECTD_RELOAD_REFUSED', message: 'config reload refused; the previous config keeps running', issues: outcome.issues } };
    } catch (err) {
      return this.refuse(id, command, errorCode(err), errorMessage(err));
    }
  }

  private refuse(id: string | number | null, command: string | undefined, code: string, message: string): CommandReply {
    this.log.warn({ event: 'command.refused', id, command, code, err: message }, 'command refused');
    return { id, ok: false, ...(command !== undefined ? { command } : {}), error: { code, message } };
  }
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The id of a message that failed validation, when it has a usable one, so the caller can still match the reply. */
function rawId(raw: unknown): string | number | null {
  if (!raw || typeof raw !== 'object' || !('id' in raw)) return null;
  const id = (raw as { id: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
