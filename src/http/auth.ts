import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/**
 * The one check every state-changing HTTP action goes through: `Authorization: Bearer <token>`,
 * the token read once at start from `http.tokenFile`. No file configured: every such action is
 * refused (403), so the server is read-only by default. A file that cannot be read, or is empty, is
 * a config error naming the field (exit 78), found at start rather than at the first click.
 */
export class BearerCheck {
  private constructor(private readonly digest: Buffer | undefined) {}

  static fromConfig(http: Config['http']): BearerCheck {
    if (!http.tokenFile) return new BearerCheck(undefined);
    let token: string;
    try {
      token = readFileSync(http.tokenFile, 'utf8').split('\n')[0]!.trim();
    } catch (err) {
      throw new ConfigError([{ path: 'http.tokenFile', message: `cannot read ${http.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], 'config');
    }
    if (token.length === 0) throw new ConfigError([{ path: 'http.tokenFile', message: `${http.tokenFile} holds no token (its first line is empty)` }], 'config');
    return new BearerCheck(sha256(token));
  }

  /** Whether any action can be allowed at all (a token is configured). */
  get configured(): boolean {
    return this.digest !== undefined;
  }

  /** Whether the request carries the configured token. Digests compared in constant time. */
  allows(req: FastifyRequest): boolean {
    if (!this.digest) return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(sha256(m[1]!), this.digest);
  }

  /**
   * A route's preHandler: 403 when the server is read-only, 401 (with WWW-Authenticate) when the
   * token is missing or wrong; otherwise the route runs.
   */
  readonly guard = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!this.digest) {
      await reply.code(403).send({ error: 'read-only: no http.tokenFile is configured, so nothing may be changed over HTTP' });
    } else if (!this.allows(req)) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="inspectd"').send({ error: 'this action needs the configured bearer token' });
    }
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
