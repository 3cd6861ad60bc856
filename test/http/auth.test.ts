import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { BearerCheck } from '../../src/http/auth.js';
import { cliPath } from '../helpers/model.js';
import { tempDir } from '../helpers/daemon.js';

/** A server with one state-changing route behind the check, as the operator page's marking is. */
async function serverWith(check: BearerCheck) {
  const app = Fastify();
  app.post('/change', { preHandler: check.guard }, async () => ({ changed: true }));
  await app.ready();
  return app;
}

const http = (tokenFile?: string) => configSchema.parse({ cameras: [{ name: 'c', source: { type: 'synthetic' } }], ...(tokenFile ? { http: { tokenFile } } : {}) }).http;

describe('the bearer check on state-changing HTTP actions', () => {
  it('refuses every action when no token file is configured (read-only by default)', async () => {
    const app = await serverWith(BearerCheck.fromConfig(http()));
    const r = await app.inject({ method: 'POST', url: '/change', headers: { authorization: 'Bearer anything' } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toContain('read-only');
  });

  it('lets through only the token in the file: missing, wrong or malformed is 401', async () => {
    const dir = tempDir('auth');
    const file = join(dir, 'token');
    writeFileSync(file, 'the-station-token\nignored second line\n');
    const app = await serverWith(BearerCheck.fromConfig(http(file)));
    const post = (authorization?: string) => app.inject({ method: 'POST', url: '/change', headers: authorization ? { authorization } : {} });
    expect((await post()).statusCode).toBe(401);
    expect((await post()).headers['www-authenticate']).toContain('Bearer');
    expect((await post('Bearer the-station-tokenX')).statusCode).toBe(401);
    expect((await post('Basic the-station-token')).statusCode).toBe(401);
    expect((await post('the-station-token')).statusCode).toBe(401);
    const ok = await post('Bearer the-station-token');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ changed: true });
  });

  it('is a config error naming http.tokenFile when the file cannot be read or is empty', () => {
    const dir = tempDir('auth');
    expect(() => BearerCheck.fromConfig(http(join(dir, 'missing')))).toThrow(ConfigError);
    expect(() => BearerCheck.fromConfig(http(join(dir, 'missing')))).toThrow(/http\.tokenFile: cannot read .*ENOENT/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => BearerCheck.fromConfig(http(join(dir, 'empty')))).toThrow(/http\.tokenFile: .* holds no token/);
  });

  it('stops `inspectd run` with exit 78 before anything starts, the path relative to the config file', () => {
    const dir = tempDir('auth');
    const cfg = join(dir, 'inspectd.yaml');
    writeFileSync(cfg, 'cameras: [{ name: c, source: { type: synthetic } }]\nhttp: { port: 0, tokenFile: ./no-such-token }\n');
    const r = spawnSync(process.execPath, [cliPath, 'run', '-c', cfg], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`http.tokenFile: cannot read ${join(dir, 'no-such-token')}`);
  });
});
