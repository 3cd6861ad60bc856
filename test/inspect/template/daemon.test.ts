import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../../src/verdict/types.js';
import { Cleanups, startDaemon, tempDir, until } from '../../helpers/daemon.js';
import { repoRoot, sharedRoot } from '../../helpers/model.js';
import { TestBroker } from '../../helpers/mosquitto.js';
import mqtt from 'mqtt';

/**
 * The golden-template kind in the running daemon (`inspectd run` from dist/, a real mosquitto):
 * a folder replay of a defective board, its own template and another board, against the first
 * board's reference. The defective board FAILs with labelled boxes, the template PASSes, the other
 * board is ERROR INSPECTD_TEMPLATE_UNREGISTERED; a template camera without references exits 78
 * naming the field.
 */
const board = (f: string) => join(sharedRoot, 'data/deeppcb/trainval/group77000', f);
const MODEL = join(repoRoot, 'models/deeppcb-template/model.json');
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('golden-template inspection in the daemon', () => {
  it('publishes FAIL with labelled boxes, PASS for the template, ERROR for a board that does not register', async () => {
    const broker = await TestBroker.start();
    cleanups.add(() => broker.stop());
    const dir = tempDir('inspectd-template-');
    mkdirSync(join(dir, 'parts'));
    mkdirSync(join(dir, 'refs'));
    copyFileSync(board('77000000_test.jpg'), join(dir, 'parts', '1-tested.jpg'));
    copyFileSync(board('77000000_temp.jpg'), join(dir, 'parts', '2-template.jpg'));
    copyFileSync(join(sharedRoot, 'data/deeppcb/trainval/group92000/92000010_test.jpg'), join(dir, 'parts', '3-other.jpg'));
    copyFileSync(board('77000000_temp.jpg'), join(dir, 'refs', 'board-77000000.jpg'));
    const verdicts: VerdictMessage[] = [];
    const sub = await mqtt.connectAsync(broker.url, { clientId: `template-${process.pid}` });
    cleanups.add(() => sub.endAsync());
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/verdict')) verdicts.push(JSON.parse(payload.toString()) as VerdictMessage);
    });
    await sub.subscribeAsync('inspectd/+/verdict', { qos: 1 });
    writeFileSync(
      join(dir, 'c.yaml'),
      `station: aoi1\ndeadlineMs: 3000\nmodel: { path: ${MODEL}, precision: fp32 }\n` +
        'cameras:\n  - name: aoi\n    source: { type: folder, path: parts, fps: 2, exitWhenDone: true }\n    template: { path: refs, recipe: board-77000000 }\n' +
        'storage: { path: v.db }\nlog: { level: info, format: json }\n',
    );
    const d = startDaemon(join(dir, 'c.yaml'), ['--broker', broker.url], { cwd: dir });
    cleanups.add(() => d.stop());
    await until('three verdicts', () => verdicts.length >= 3, 60_000);
    const by = new Map(verdicts.map((v) => [v.source, v]));
    const tested = by.get('1-tested.jpg')!;
    expect(tested.verdict).toBe('FAIL');
    expect(tested.defects.length).toBeGreaterThanOrEqual(3);
    for (const def of tested.defects) {
      expect(['open', 'short', 'mousebite', 'spur', 'copper', 'pin-hole']).toContain(def.label);
      expect(def.box).toHaveLength(4);
    }
    expect(by.get('2-template.jpg')).toMatchObject({ verdict: 'PASS', defects: [] });
    expect(by.get('3-other.jpg')).toMatchObject({ verdict: 'ERROR', error: { code: 'INSPECTD_TEMPLATE_UNREGISTERED' } });
  });

  it('exits 78 naming cameras[0].template when a template model has no references', async () => {
    const dir = tempDir('inspectd-template-cfg-');
    writeFileSync(join(dir, 'c.yaml'), `model: { path: ${MODEL}, precision: fp32 }\ncameras:\n  - name: aoi\n    source: { type: folder, path: ${dir} }\nstorage: { path: v.db }\n`);
    const d = startDaemon(join(dir, 'c.yaml'), ['--broker', 'mqtt://127.0.0.1:1'], { cwd: dir });
    cleanups.add(() => d.stop());
    expect(await d.exited).toBe(78);
    expect(d.stdout + d.stderr).toMatch(/cameras\[0\]\.template/);
  });
});
