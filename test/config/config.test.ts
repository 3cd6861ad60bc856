import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function issuesOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config validation', () => {
  it('an empty config gives the embedded demo: synthetic camera, embedded broker, default db', () => {
    const cfg = parseConfig({}, 'x');
    expect(cfg.cameras).toHaveLength(1);
    expect(cfg.cameras[0]!.source.type).toBe('synthetic');
    expect(cfg.mqtt.url).toBeUndefined();
    expect(cfg.mqtt.embeddedBroker).toMatchObject({ enabled: true, host: '127.0.0.1', port: 1883 });
    expect(cfg.storage.path).toBe('./var/inspectd.db');
    expect(cfg.deadlineMs).toBe(30);
    expect(Object.isFrozen(cfg.cameras[0])).toBe(true);
  });

  it('names the field path of a non-positive fps', () => {
    const issues = issuesOf({ cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 0 } }] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^cameras\[0\]\.source\.fps: /);
  });

  it('rejects unknown keys at any depth, naming each', () => {
    const issues = issuesOf({ statoin: 'x', mqtt: { topicPrefx: 'a' }, cameras: [{ name: 'c', source: { type: 'synthetic', fsp: 3 } }] });
    expect(issues).toEqual(
      expect.arrayContaining(['statoin: unknown key', 'mqtt.topicPrefx: unknown key', 'cameras[0].source.fsp: unknown key']),
    );
  });

  it('reports every problem at once, not just the first', () => {
    const issues = issuesOf({ deadlineMs: -5, station: 'bad station!', storage: { synchronous: 'SOMETIMES' } });
    expect(issues.map((i) => i.split(':')[0])).toEqual(expect.arrayContaining(['deadlineMs', 'station', 'storage.synchronous']));
  });

  it('rejects a wrong type with the field named', () => {
    expect(issuesOf({ deadlineMs: '30ms' })[0]).toMatch(/^deadlineMs: /);
  });

  it('rejects an unknown camera source type', () => {
    expect(issuesOf({ cameras: [{ name: 'c', source: { type: 'webcam' } }] })[0]).toMatch(/^cameras\[0\]\.source\.type: /);
  });

  it('rejects duplicate camera names and bad regions', () => {
    const issues = issuesOf({
      cameras: [
        { name: 'a', source: { type: 'synthetic' }, roi: [0, 0, -1, 10] },
        { name: 'a', source: { type: 'synthetic' } },
      ],
    });
    expect(issues.some((i) => i.startsWith('cameras[1].name: duplicate'))).toBe(true);
    expect(issues.some((i) => i.startsWith('cameras[0].roi[2]'))).toBe(true);
  });

  it('rejects a broker URL that is not MQTT and thresholds outside [0,1]', () => {
    const issues = issuesOf({
      mqtt: { url: 'http://plant:1883' },
      cameras: [{ name: 'c', source: { type: 'synthetic' }, thresholds: { default: 1.5, perClass: { scratch: -0.1 } } }],
    });
    expect(issues.map((i) => i.split(':')[0])).toEqual(
      expect.arrayContaining(['mqtt.url', 'cameras[0].thresholds.default', 'cameras[0].thresholds.perClass.scratch']),
    );
  });

  it('requires a broker URL when the embedded broker is off', () => {
    expect(issuesOf({ mqtt: { embeddedBroker: { enabled: false } } })).toEqual(['mqtt.url: required when mqtt.embeddedBroker.enabled is false']);
  });

  it('lets run flags override the file: --broker turns the embedded broker off', () => {
    const file = writeYaml('station: line7\nstorage:\n  path: /tmp/a.db\n');
    const cfg = loadConfig(file, { brokerUrl: 'mqtt://10.0.0.5:1883', dbPath: '/tmp/b.db', station: 'line8' });
    expect(cfg.mqtt.url).toBe('mqtt://10.0.0.5:1883');
    expect(cfg.mqtt.embeddedBroker.enabled).toBe(false);
    expect(cfg.storage.path).toBe('/tmp/b.db');
    expect(cfg.station).toBe('line8');
  });

  it('reports YAML syntax errors with a line number', () => {
    const file = writeYaml('station: a\ncameras: [\n');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    try {
      loadConfig(file);
    } catch (e) {
      expect((e as ConfigError).issues[0]!.path).toMatch(/^line \d+/);
    }
  });

  it('accepts every example config shipped in config/', () => {
    const dir = join(import.meta.dirname, '../../config');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(() => loadConfig(join(dir, f)), f).not.toThrow();
  });

  it('rejects duplicate YAML keys instead of silently taking the last', () => {
    const file = writeYaml('station: a\nstation: b\n');
    expect(() => loadConfig(file)).toThrow(ConfigError);
  });
});
