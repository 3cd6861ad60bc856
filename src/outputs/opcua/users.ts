import { scrypt, timingSafeEqual, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';

/**
 * The OPC UA server's users, read once at start from `opcua.usersFile`. One user per line:
 *
 *   name:scrypt$<salt, base64>$<hash, base64>   (make one with `inspectd opcua-user NAME`)
 *   name:plain$<password>                       (for a commissioning laptop; the file is the secret)
 *
 * Blank lines and lines starting with # are skipped. scrypt runs on libuv's thread pool (async),
 * never on the main thread: a session's login must not stall the frame path (scrypt at N=16384
 * costs ~50 ms of CPU).
 */
export interface OpcuaUsers {
  readonly names: readonly string[];
  /** Resolves whether name/password is a user of this file; never rejects. */
  check(name: string, password: string): Promise<boolean>;
}

type Secret = { kind: 'plain'; password: Buffer } | { kind: 'scrypt'; salt: Buffer; hash: Buffer };

/** scrypt's cost parameters, fixed so a hash made on one box verifies on another. */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

export function readUsersFile(path: string, field = 'opcua.usersFile'): OpcuaUsers {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: field, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], 'config');
  }
  const users = new Map<string, Secret>();
  const issues: { path: string; message: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const secret = colon > 0 ? parseSecret(line.slice(colon + 1)) : undefined;
    if (!secret) issues.push({ path: field, message: `${path} line ${i + 1}: expected name:scrypt$SALT$HASH or name:plain$PASSWORD` });
    else if (users.has(name)) issues.push({ path: field, message: `${path} line ${i + 1}: user "${name}" given twice` });
    else users.set(name, secret);
  });
  if (users.size === 0 && issues.length === 0) issues.push({ path: field, message: `${path} names no user` });
  if (issues.length > 0) throw new ConfigError(issues, 'config');
  return {
    names: [...users.keys()],
    check: async (name, password) => {
      const s = users.get(name);
      if (!s) return false;
      const given = Buffer.from(password, 'utf8');
      if (s.kind === 'plain') return given.length === s.password.length && timingSafeEqual(given, s.password);
      const hash = await scryptAsync(given, s.salt);
      return timingSafeEqual(hash, s.hash);
    },
  };
}

function parseSecret(text: string): Secret | undefined {
  if (text.startsWith('plain$') && text.length > 'plain$'.length) return { kind: 'plain', password: Buffer.from(text.slice('plain$'.length), 'utf8') };
  const m = /^scrypt\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) return undefined;
  const hash = Buffer.from(m[2]!, 'base64');
  return hash.length === SCRYPT.keylen ? { kind: 'scrypt', salt: Buffer.from(m[1]!, 'base64'), hash } : undefined;
}

function scryptAsync(password: Buffer, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** One line of a users file for this name and password (a fresh random salt each time). */
export async function hashUserLine(name: string, password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(Buffer.from(password, 'utf8'), salt);
  return `${name}:scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}
