import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/model.js';

function yaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-cli-'));
  const f = join(dir, 'c.yaml');
  writeFileSync(f, text);
  return f;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 30_000 });
}

const bad = 'deadlineMs: 0\ncameras:\n  - name: cam1\n    source: { type: synthetic, fps: -2 }\nmqtt: { brokr: x }\n';

describe('bad config on the command line', () => {
  it('check-config exits 78 and lists every problem by field path on stderr', () => {
    const r = cli('check-config', yaml(bad));
    expect(r.status).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/deadlineMs: /);
    expect(r.stderr).toMatch(/cameras\[0\]\.source\.fps: /);
    expect(r.stderr).toMatch(/mqtt\.brokr: unknown key/);
  });

  it('run exits 78 on the same file before starting anything', () => {
    const r = cli('run', '-c', yaml(bad));
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/cameras\[0\]\.source\.fps: /);
  });

  it('check-config accepts the shipped demo with its model loaded, and names what the production example lacks here', () => {
    const demo = cli('check-config', resolve(repoRoot, 'config', 'embedded-demo.yaml'));
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('loaded and self-tested');
    // The production example names a model installed under /opt/inspectd: not on this machine.
    const prod = cli('check-config', resolve(repoRoot, 'config', 'production.yaml'));
    expect(prod.status).toBe(78);
    expect(prod.stderr).toMatch(/model\.path: .*\/opt\/inspectd\/models\/magnetic-tile\/model\.json/);
  });

  it('run exits 78 naming a per-class threshold for a label the model does not have', () => {
    const model = resolve(repoRoot, 'test/fixtures/models/coco-yolo11n-int8-320/model.json');
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-cli-'));
    const f = yaml(
      `model: { path: ${model} }\nstorage: { path: ${join(dir, 'v.db')} }\nmqtt: { url: 'mqtt://127.0.0.1:1' }\nlog: { level: fatal }\n` +
        'cameras:\n  - name: cam1\n    source: { type: synthetic }\n    thresholds: { perClass: { persn: 0.4 } }\n',
    );
    const r = cli('run', '-c', f);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('cameras[0].thresholds.perClass.persn');
  });

  it('a missing config file exits 78 with its path', () => {
    const r = cli('run', '-c', '/nonexistent/inspectd.yaml');
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('/nonexistent/inspectd.yaml');
  });

  it('an unknown flag is a usage error (64)', () => {
    expect(cli('run', '--no-such-flag').status).toBe(64);
  });
});
