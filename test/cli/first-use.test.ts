import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { VerdictStore } from '../../src/record/store.js';
import { cliPath, defaultModelJson, repoRoot } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/** What a new user ran into the first time (issue 6), each as the user met it: through the CLI. */
const tmp = () => mkdtempSync(join(tmpdir(), 'inspectd-first-'));
function cli(args: string[], opts: { cwd?: string; input?: string; timeout?: number } = {}) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 60_000, cwd: opts.cwd ?? repoRoot, input: opts.input });
}

let images: string;
beforeAll(() => {
  images = tmp();
  const r = cli(['synth', '--out', images, '--count', '2', '--width', '160', '--height', '128']);
  expect(r.status, r.stderr).toBe(0);
});

describe('infer with a long list of images', () => {
  it('judges every image when the command line is over 14 KB (onnxruntime-node crashed in its worker)', () => {
    // 64 paths of ~250 characters: a shell glob over a folder of a few hundred images is as long.
    const dir = join(tmp(), 'line-4-camera-2-'.repeat(14));
    mkdirSync(dir);
    const files = [...Array(64).keys()].map((i) => {
      const f = join(dir, `part-${String(i).padStart(4, '0')}-${'x'.repeat(40)}.png`);
      linkSync(join(images, `00000${i % 2}.png`), f);
      return f;
    });
    expect(files.join(' ').length).toBeGreaterThan(15_000);
    const r = cli(['infer', '-m', defaultModelJson, '--threads', '1', ...files]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string });
    expect(lines.map((l) => l.file)).toEqual(files);
  });

  it('takes the list from a file or stdin with --files-from', () => {
    const list = [join(images, '000000.png'), join(images, '000001.png')];
    const r = cli(['infer', '-m', defaultModelJson, '--threads', '1', '--files-from', '-'], { input: list.join('\n') + '\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('run', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await TestBroker.start();
  });
  afterAll(async () => broker?.stop());

  it('a start that fails with --broker exits at once with its error', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'c.yaml'), 'cameras:\n  - name: replay\n    source: { type: folder, path: empty }\nstorage: { path: v.db }\nlog: { level: fatal }\n');
    const t0 = Date.now();
    const r = cli(['run', '-c', join(dir, 'c.yaml'), '--broker', broker.url], { timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no images in ${join(dir, 'empty')}`);
    // Model load and self-test take a few seconds here; the hang was ~50 s.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('flag errors name the flag, from the command line', () => {
    const r = cli(['run', '--station', 'line 4', '--broker', broker.url]);
    expect(r.status).toBe(78);
    expect(r.stderr).toBe('invalid config given on the command line:\n  --station: letters, digits, _ and - only (it becomes part of MQTT topics)\n');
  });
});

describe('config files', () => {
  it('an empty or comment-only file is a config error, not the built-in demo', () => {
    const dir = tmp();
    for (const text of ['', '# station: line4\n# cameras: []\n']) {
      writeFileSync(join(dir, 'c.yaml'), text);
      const r = cli(['check-config', join(dir, 'c.yaml')]);
      expect(r.status).toBe(78);
      expect(r.stderr).toContain('(root): the file has no settings (empty or only comments)');
    }
  });

  it('a missing required key says it is missing', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'c.yaml'), 'cameras:\n  - name: usb1\n    source: { type: opencv }\n');
    const r = cli(['check-config', join(dir, 'c.yaml')]);
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('cameras[0].source.device: required (missing)');
  });

  it('relative paths in a file resolve against its folder; defaults and flags do not', () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'cameras:\n  - name: replay\n    source: { type: folder, path: ../parts }\n    model: { path: models/m.json }\nstorage: { path: var/v.db }\nmodel: { path: m.json }\n');
    const cfg = loadConfig(file);
    expect(cfg.storage.path).toBe(join(dir, 'var/v.db'));
    expect(cfg.model.path).toBe(join(dir, 'm.json'));
    expect(cfg.cameras[0]!.model!.path).toBe(join(dir, 'models/m.json'));
    expect(cfg.cameras[0]!.source).toMatchObject({ path: join(dir, '../parts') });
    // The default model stays relative: the daemon resolves it against the package, from any folder.
    writeFileSync(file, 'station: s1\n');
    expect(loadConfig(file).model.path).toBe('models/synthetic-line/model.json');
    expect(loadConfig(file, { dbPath: 'here.db' }).storage.path).toBe('here.db');
  });
});

describe('small things', () => {
  it('--version prints the version', () => {
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('-m given the .onnx says to give model.json', () => {
    const r = cli(['infer', '-m', join(repoRoot, 'models/synthetic-line/model.int8.onnx'), join(images, '000000.png')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("-m expects the model's model.json, not the .onnx file (try -m ");
  });

  it('tensors creates the folder it writes into', () => {
    const out = join(tmp(), 'calibration', 'day1', 'x.npy');
    const r = cli(['tensors', '-m', defaultModelJson, '--out', out, images]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out) && existsSync(`${out}.files.txt`)).toBe(true);
  });

  it('verdicts | head -2 ends quietly when the reader closes the pipe', async () => {
    const db = join(tmp(), 'v.db');
    const store = new VerdictStore({ path: db, synchronous: 'NORMAL' });
    const model = { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' };
    store.apply(
      [...Array(20_000).keys()].map((i) => ({
        op: 'verdict' as const,
        msg: { schema: 1 as const, seq: i + 1, station: 's1', camera: 'c', frameId: i, partId: null, verdict: 'PASS' as const, score: 0.1, defects: [], capturedAt: 1, decidedAt: 2, latencyMs: 1, deadlineMs: 30, model },
      })),
    );
    store.close();
    const child = spawn(process.execPath, [cliPath, 'verdicts', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Like head -2: read a little, then close the pipe.
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
