import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VerdictStore } from '../../src/record/store.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from '../helpers/model.js';

const dir = mkdtempSync(join(tmpdir(), 'inspectd-verdicts-'));
const db = join(dir, 'v.db');
const written: VerdictMessage[] = [];
/** A second station in the same log: `--station` must keep it apart. */
const otherStation: VerdictMessage[] = [];
const store = new VerdictStore({ path: db });
for (let i = 0; i < 9; i++) {
  (i < 6 ? written : otherStation).push(
    store.record({
      station: i < 6 ? 'st1' : 'st2',
      camera: 'cam1',
      frameId: i,
      partId: i % 2 ? `P-${i}` : null,
      decision:
        i === 4
          ? { verdict: 'ERROR', score: null, defects: [], error: { code: 'INSPECTD_FRAME_INVALID', message: 'frame image is empty, "really"' } }
          : { verdict: i % 2 ? 'FAIL' : 'PASS', score: i / 10, defects: i % 2 ? [{ label: 'scratch', score: 0.9, box: [1, 2, 3, 4] }] : [] },
      capturedAt: 1000 * i,
      decidedAt: 1000 * i + 12,
      deadlineMs: 30,
      model: { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' },
    }),
  );
}
store.close();

function cli(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, 'verdicts', '--db', db, ...args], { encoding: 'utf8' });
}

describe('inspectd verdicts', () => {
  it('prints exactly the MQTT payloads as JSON lines in seq order, station by station', () => {
    const r = cli();
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as VerdictMessage);
    expect(lines).toEqual([...written, ...otherStation]);
  });

  it('prints only the station named by --station, its seq from 1', () => {
    const lines = (r: ReturnType<typeof cli>) => r.stdout.trim().split('\n').map((l) => JSON.parse(l) as VerdictMessage);
    expect(otherStation.map((v) => v.seq)).toEqual([1, 2, 3]);
    expect(lines(cli('--station', 'st2'))).toEqual(otherStation);
    expect(lines(cli('--station', 'st1'))).toEqual(written);
    expect(lines(cli('--station', 'st2', '--after-seq', '1')).map((v) => [v.station, v.seq])).toEqual([['st2', 2], ['st2', 3]]);
    expect(cli('--station', 'nosuch').stdout).toBe('');
  });

  it('pages with --after-seq and --limit', () => {
    const r = cli('--station', 'st1', '--after-seq', '2', '--limit', '2');
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as VerdictMessage).seq)).toEqual([3, 4]);
  });

  it('writes CSV with a header and quotes fields that need it', () => {
    const r = cli('--format', 'csv', '--station', 'st1');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('seq,station,camera,frameId,partId,verdict,score,defects,capturedAt,decidedAt,latencyMs,deadlineMs,model,error,image,source');
    expect(lines).toHaveLength(7);
    expect(lines[2]).toContain(',P-1,FAIL,0.1,"[{""label"":""scratch""');
    expect(lines[5]).toContain('ERROR');
    // The error object is JSON (quotes escaped as \"), then CSV-quoted (each " doubled).
    expect(lines[5]).toContain('\\""really\\""');
  });

  it('fails clearly on a database that does not exist', () => {
    const r = spawnSync(process.execPath, [cliPath, 'verdicts', '--db', join(dir, 'nope.db')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot open verdict database');
  });
});
