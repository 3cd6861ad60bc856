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
        i === 2
          ? { verdict: 'TIMEOUT', score: null, defects: [] }
          : i === 4
          ? { verdict: 'ERROR', score: null, defects: [], error: { code: 'INSPECTD_FRAME_INVALID', message: 'frame image is empty, "really"' } }
          : { verdict: i % 2 ? 'FAIL' : 'PASS', score: i / 10, defects: i % 2 ? [{ label: 'scratch', score: 0.9, box: [1, 2, 3, 4] }] : [] },
      capturedAt: 1000 * i,
      decidedAt: 1000 * i + 12,
      deadlineMs: 30,
      model: { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' },
    }),
  );
}
// The model's answer for the TIMEOUT frame came 20 ms after its deadline.
store.recordLate('st1', written[2]!.seq, { verdict: 'FAIL', score: 0.97, defects: [{ label: 'pit', score: 0.97 }] }, 2050);
store.close();
const LATE = { verdict: 'FAIL', score: 0.97, defects: [{ label: 'pit', score: 0.97 }], decidedAt: 2050 };

function cli(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, 'verdicts', '--db', db, ...args], { encoding: 'utf8' });
}

describe('inspectd verdicts', () => {
  it('prints exactly the MQTT payloads as JSON lines in seq order, station by station', () => {
    const r = cli();
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as VerdictMessage & { late?: unknown });
    // The TIMEOUT row also shows its late result; every other line is the payload as published.
    expect(lines).toEqual([...written, ...otherStation].map((m) => (m.seq === written[2]!.seq && m.station === 'st1' ? { ...m, late: LATE } : m)));
  });

  it('filters by decision time (--since inclusive, --until exclusive, ISO or epoch ms), camera and verdict', () => {
    const seqs = (...args: string[]) =>
      cli('--station', 'st1', ...args)
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as VerdictMessage).seq);
    // decidedAt is 1000 * i + 12 for seq i + 1.
    expect(seqs('--since', '2012', '--until', '4012')).toEqual([3, 4]);
    expect(seqs('--since', new Date(2012).toISOString())).toEqual([3, 4, 5, 6]);
    expect(seqs('--verdict', 'fail,error')).toEqual([2, 4, 5, 6]);
    expect(seqs('--verdict', 'TIMEOUT')).toEqual([3]);
    expect(seqs('--camera', 'cam2')).toEqual([]);
    expect(cli('--since', 'yesterday-ish').status).toBe(64);
    expect(cli('--verdict', 'MAYBE').status).toBe(64);
  });

  it('prints only the station named by --station, its seq from 1', () => {
    const lines = (r: ReturnType<typeof cli>) => r.stdout.trim().split('\n').map((l) => JSON.parse(l) as VerdictMessage);
    expect(otherStation.map((v) => v.seq)).toEqual([1, 2, 3]);
    expect(lines(cli('--station', 'st2'))).toEqual(otherStation);
    expect(lines(cli('--station', 'st1')).map((v) => v.seq)).toEqual(written.map((v) => v.seq));
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
    expect(lines[0]).toBe('seq,station,camera,frameId,partId,verdict,score,defects,capturedAt,decidedAt,latencyMs,deadlineMs,model,error,image,source,late,review,reviewedAt');
    // Times as ISO 8601 UTC; the TIMEOUT row carries its late result.
    expect(lines[1]).toContain(',1970-01-01T00:00:00.000Z,1970-01-01T00:00:00.012Z,');
    expect(lines[3]).toContain('TIMEOUT');
    expect(lines[3]).toContain('"{""verdict"":""FAIL"",""score"":0.97');
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
