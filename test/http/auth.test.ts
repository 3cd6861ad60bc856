import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { commandAuth, loadCommandAuth } from '../../src/http/auth.js';

const TOKEN = 'a3f1c0de9b7e4f2a8c6d5e4f3a2b1c0d';
const http = (over: Record<string, unknown> = {}) => parseConfig({ http: over }, 'test').http;

describe('the command token', () => {
  it('allows only the exact token, and says why it refuses', () => {
    const auth = commandAuth(TOKEN);
    expect(auth.checkToken(TOKEN)).toBeUndefined();
    expect(auth.checkToken(undefined)?.code).toBe('INSPECTD_AUTH_REQUIRED');
    expect(auth.checkToken('')?.code).toBe('INSPECTD_AUTH_REQUIRED');
    expect(auth.checkToken(TOKEN.slice(0, -1))?.code).toBe('INSPECTD_AUTH_DENIED');
    expect(auth.checkToken(TOKEN + 'x')?.code).toBe('INSPECTD_AUTH_DENIED');
    expect(auth.checkToken(TOKEN.toUpperCase())?.code).toBe('INSPECTD_AUTH_DENIED');
  });

  it('reads a bearer header', () => {
    const auth = commandAuth(TOKEN);
    expect(auth.checkHeader(`Bearer ${TOKEN}`)).toBeUndefined();
    expect(auth.checkHeader(`bearer ${TOKEN}`)).toBeUndefined();
    expect(auth.checkHeader(undefined)?.status).toBe(401);
    expect(auth.checkHeader(`Basic ${TOKEN}`)?.status).toBe(401);
    expect(auth.checkHeader('Bearer nope-nope-nope-nope')?.status).toBe(403);
  });

  it('refuses every state change when no token is configured (off, not open)', () => {
    const auth = loadCommandAuth(http(), {});
    expect(auth.configured).toBe(false);
    expect(auth.checkToken(TOKEN)?.code).toBe('INSPECTD_AUTH_NOT_CONFIGURED');
    expect(auth.checkToken(undefined)?.code).toBe('INSPECTD_AUTH_NOT_CONFIGURED');
  });

  it('takes the first line of http.tokenFile, else INSPECTD_HTTP_TOKEN', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-auth-'));
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n# comment\n`);
    expect(loadCommandAuth(http({ tokenFile: file }), { INSPECTD_HTTP_TOKEN: 'other-token-other-token' }).checkToken(TOKEN)).toBeUndefined();
    expect(loadCommandAuth(http(), { INSPECTD_HTTP_TOKEN: TOKEN }).checkToken(TOKEN)).toBeUndefined();
  });

  it('is a config error naming the field when the file is missing or the token too short', () => {
    const missing = () => loadCommandAuth(http({ tokenFile: '/nonexistent/inspectd-token' }), {});
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(/http\.tokenFile: cannot read \/nonexistent\/inspectd-token: ENOENT/);
    expect(() => loadCommandAuth(http(), { INSPECTD_HTTP_TOKEN: 'short' })).toThrow(/INSPECTD_HTTP_TOKEN: the token must be at least 16/);
  });

  it('guards a fastify route as a preHandler: 401 without, 403 wrong, through with the token', async () => {
    const app = Fastify();
    app.post('/change', { preHandler: commandAuth(TOKEN).preHandler }, async () => ({ changed: true }));
    const none = await app.inject({ method: 'POST', url: '/change' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json()).toMatchObject({ ok: false, error: { code: 'INSPECTD_AUTH_REQUIRED' } });
    expect((await app.inject({ method: 'POST', url: '/change', headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/change', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ changed: true });
    await app.close();
  });
});
