import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, defaultModelJson, repoRoot } from '../helpers/model.js';

/** check-config refuses what run would refuse (systemd runs it as ExecStartPre), each with exit 78. */
function check(config: string, ...flags: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-check-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, config);
  return spawnSync(process.execPath, [cliPath, 'check-config', file, ...flags], { encoding: 'utf8', timeout: 60_000 });
}

/** A copy of the default model's folder with one file replaced. */
function brokenModel(file: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-model-'));
  const src = resolve(repoRoot, 'models/synthetic-line');
  for (const f of ['model.json', 'model.onnx', 'model.int8.onnx']) copyFileSync(join(src, f), join(dir, f));
  writeFileSync(join(dir, file), content);
  return join(dir, 'model.json');
}

describe('inspectd check-config', () => {
  it('says ok for a good config, having loaded and self-tested the model', () => {
    const r = check(`model: { path: ${defaultModelJson} }\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('loaded and self-tested');
  });

  it('refuses a missing model file, naming model.path', () => {
    const r = check('model: { path: /nonexistent/model.json }\n');
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/model\.path: .*\/nonexistent\/model\.json/);
  });

  it('refuses a bad model.json', () => {
    const r = check(`model: { path: ${brokenModel('model.json', '{"name": 1}')} }\n`);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('INSPECTD_MODEL_SPEC_INVALID');
  });

  it('refuses a corrupt ONNX file when it loads the model, and not with --no-model', () => {
    const model = brokenModel('model.int8.onnx', 'not an onnx file');
    const r = check(`model: { path: ${model}, precision: int8 }\n`);
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/model: .*INSPECTD_MODEL_LOAD/);
    const quick = check(`model: { path: ${model}, precision: int8 }\n`, '--no-model');
    expect(quick.status, quick.stderr).toBe(0);
    expect(quick.stdout).toContain('not loaded (--no-model)');
  });

  it('refuses a per-class threshold for a label the model lacks', () => {
    const r = check(`model: { path: ${defaultModelJson} }\ncameras:\n  - name: cam1\n    source: { type: synthetic }\n    thresholds: { perClass: { scrach: 0.4 } }\n`);
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/cameras\[0\]\.thresholds\.perClass\.scrach: model synthetic-line has no label "scrach"/);
  });

  it('refuses backend: tensorrt on a machine that cannot run it, with the reason', () => {
    const r = check(`model: { path: ${defaultModelJson} }\ninference: { backend: tensorrt }\n`, '--no-model');
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/inference\.backend: tensorrt cannot run here: .+\(INSPECTD_(CUDA|TRT_NOT_FOUND|ADDON_LOAD)\)/);
  });

  it('lists every problem at once: an unreadable certificate and a missing model', () => {
    const r = check(`model: { path: ${defaultModelJson} }\nmqtt: { url: 'mqtts://127.0.0.1:8883', tls: { ca: missing-ca.crt } }\ncameras:\n  - name: cam1\n    source: { type: synthetic }\n    model: { path: /nonexistent/m.json }\n`);
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/mqtt\.tls\.ca: cannot read .*missing-ca\.crt/);
    expect(r.stderr).toMatch(/model\.path: .*\/nonexistent\/m\.json/);
  });
});
