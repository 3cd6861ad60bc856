import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { ConfigError, type ErrorCode } from '../errors.js';

/** Shorter tokens are refused at start: a token someone can guess protects nothing. */
export const MIN_TOKEN_LENGTH = 16;

/** Why a command was refused: its code (errors.ts), the HTTP status it maps to, and a message. */
export interface AuthRefusal {
  code: Extract<ErrorCode, 'INSPECTD_AUTH_REQUIRED' | 'INSPECTD_AUTH_DENIED' | 'INSPECTD_AUTH_NOT_CONFIGURED'>;
  status: 401 | 403;
  message: string;
}

/**
 * The one check every state-changing action goes through, whatever carries it (HTTP `POST /reload`,
 * MQTT `…/cmd`, later the operator page and OPC UA methods): read-only routes never call it.
 * `checkToken(presented)` takes the bare token (an MQTT command's `token` field);
 * `checkHeader(authorization)` an HTTP `Authorization: Bearer …` header; `preHandler` is the fastify
 * hook for a route. Each returns undefined when allowed, or the refusal.
 */
export interface CommandAuth {
  /** True when a token is configured (otherwise every state-changing command is refused). */
  readonly configured: boolean;
  checkToken(presented: string | undefined): AuthRefusal | undefined;
  checkHeader(authorization: string | undefined): AuthRefusal | undefined;
  preHandler(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/**
 * The token from `http.tokenFile` (its first line), else INSPECTD_HTTP_TOKEN. A file named in config
 * that cannot be read, or a token shorter than MIN_TOKEN_LENGTH, is a config error naming the field
 * (exit 78 at start). No token at all is allowed: state-changing commands are then off, not open.
 */
export function loadCommandAuth(http: Config['http'], env: NodeJS.ProcessEnv = process.env): CommandAuth {
  let token: string | undefined;
  let field = 'INSPECTD_HTTP_TOKEN';
  if (http.tokenFile !== undefined) {
    field = 'http.tokenFile';
    try {
      token = readFileSync(http.tokenFile, 'utf8').split('\n')[0]!.trim();
    } catch (err) {
      throw new ConfigError([{ path: field, message: `cannot read ${http.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], 'config');
    }
  } else if (env.INSPECTD_HTTP_TOKEN !== undefined) {
    token = env.INSPECTD_HTTP_TOKEN.trim();
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError([{ path: field, message: `the token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`), got ${token.length}` }], 'config');
  }
  return commandAuth(token);
}

/** A CommandAuth for a token already read (undefined: state-changing commands are refused). */
export function commandAuth(token: string | undefined): CommandAuth {
  // Digests of equal length, so timingSafeEqual compares in the same time whatever was presented
  // (its length included): a wrong token's timing tells an attacker nothing about the right one.
  const expected = token !== undefined ? digest(token) : undefined;
  const checkToken = (presented: string | undefined): AuthRefusal | undefined => {
    if (expected === undefined) {
      return { code: 'INSPECTD_AUTH_NOT_CONFIGURED', status: 403, message: 'no command token is configured (http.tokenFile or INSPECTD_HTTP_TOKEN): state-changing commands are off' };
    }
    if (presented === undefined || presented === '') return { code: 'INSPECTD_AUTH_REQUIRED', status: 401, message: 'this command needs the token' };
    if (!timingSafeEqual(digest(presented), expected)) return { code: 'INSPECTD_AUTH_DENIED', status: 403, message: 'wrong token' };
    return undefined;
  };
  const checkHeader = (authorization: string | undefined): AuthRefusal | undefined => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    return checkToken(m?.[1]);
  };
  return {
    configured: expected !== undefined,
    checkToken,
    checkHeader,
    preHandler: async (req, reply) => {
      const refused = checkHeader(req.headers.authorization);
      if (!refused) return;
      if (refused.status === 401) void reply.header('www-authenticate', 'Bearer');
      await reply.code(refused.status).send({ ok: false, error: { code: refused.code, message: refused.message } });
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
