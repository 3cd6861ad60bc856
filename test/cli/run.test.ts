import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/model.js';
import { Cleanups, dbRows, startDaemon, tempDir, until, writeConfig } from '../helpers/daemon.js';

/** `inspectd run` on configs that name the backend and the model path in ways the contract documents. */
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** No broker is listening on port 1: the daemon runs and records, publishing nothing. */
const NO_BROKER = 'mqtt://127.0.0.1:1';

describe('inspectd run', () => {
  it('refuses inference.backend: tensorrt where it cannot run (no GPU here) with the reason, exit 1, before any camera starts', () => {
    const dir = tempDir('trt');
    const db = join(dir, 'v.db');
    const cfg = writeConfig(dir, [
      `model: { path: ${join(repoRoot, 'models/synthetic-line/model.json')} }`,
      'inference: { backend: tensorrt }',
      `mqtt: { url: '${NO_BROKER}' }`,
      `storage: { path: ${db} }`,
      'log: { level: info, format: json }',
    ]);
    const r = spawnSync(process.execPath, [cliPath, 'run', '-c', cfg], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^inspectd: inference\.backend: tensorrt cannot run here: .+; .+/);
    const fatal = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; code?: string; msg: string })
      .filter((l) => l.level === 60);
    expect(fatal).toEqual([expect.objectContaining({ code: expect.stringMatching(/^INSPECTD_(CUDA|TRT_NOT_FOUND|ADDON_LOAD)$/), msg: 'daemon failed to start' })]);
    expect(r.stdout).not.toContain('camera started');
    expect(dbRows(db)).toEqual([]);
  });

  it('resolves a relative model.path against the config file folder, not the working directory', async () => {
    const confDir = tempDir('relmodel');
    // The model folder beside the config (a link to the shipped one), and a working directory without it.
    symlinkSync(join(repoRoot, 'models'), join(confDir, 'models'));
    const cwd = join(tempDir('relmodel-cwd'), 'elsewhere');
    mkdirSync(cwd);
    const db = join(confDir, 'v.db');
    const cfg = writeConfig(confDir, [
      'model: { path: models/synthetic-line/model.json }',
      `mqtt: { url: '${NO_BROKER}' }`,
      `storage: { path: ${db} }`,
      'log: { level: warn, format: json }',
    ]);
    const daemon = startDaemon(cfg, [], { cwd });
    cleanups.add(() => daemon.stop('SIGKILL'));
    await until('a verdict judged by the model', () => dbRows(db).some((r) => r.verdict === 'PASS' || r.verdict === 'FAIL') || daemon.child.exitCode !== null);
    expect(daemon.stderr).toBe('');
    expect(daemon.child.exitCode).toBeNull();
    expect(dbRows(db)[0]).toMatchObject({ camera: 'cam1' });
  });
});
