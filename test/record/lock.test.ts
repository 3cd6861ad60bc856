import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_LOG_IN_USE } from '../../src/cli/exit-codes.js';
import { cliPath } from '../helpers/model.js';
import { openRecorder, readRows, tmpDb, verdict } from '../helpers/verdict-log.js';

const recorderJs = new URL('../../dist/src/record/recorder.js', import.meta.url).pathname;

describe('one daemon per verdict log', () => {
  it('refuses a second recorder on the same log, in this process and in another, with INSPECTD_LOG_IN_USE', async () => {
    const path = tmpDb();
    const first = await openRecorder(path);
    first.rec.record(verdict(0));
    await expect(openRecorder(path)).rejects.toMatchObject({ code: 'INSPECTD_LOG_IN_USE' });
    const other = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { VerdictRecorder } from '${recorderJs}';
         try { await VerdictRecorder.open({ path: ${JSON.stringify(path)}, synchronous: 'FULL', station: 'st1' }, { committed() {} }); console.log('opened'); }
         catch (e) { console.log(e.code); }`,
      ],
      { encoding: 'utf8' },
    );
    expect(other.stdout.trim()).toBe('INSPECTD_LOG_IN_USE');
    // The refused opens changed nothing: the first recorder's seq and rows carry on.
    expect(first.rec.record(verdict(1)).seq).toBe(2);
    await first.rec.close();
    expect(readRows(path).map((r) => r.seq)).toEqual([1, 2]);
    // Closed, the log can be opened again.
    const again = await openRecorder(path);
    expect(again.rec.record(verdict(2)).seq).toBe(3);
    await again.rec.close();
  });

  it('`inspectd run` on a log another daemon holds exits with its own status, and `inspectd verdicts` still reads the log', async () => {
    const path = tmpDb();
    const first = await openRecorder(path);
    first.rec.record(verdict(0));
    await first.rec.sync();
    // If the lock does not hold, this daemon would start and run: it is killed however the test ends.
    const run = spawn(process.execPath, [cliPath, 'run', '--db', path, '--broker', 'mqtt://127.0.0.1:9'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const status = await new Promise<number | null>((res) => {
        const t = setTimeout(() => res(null), 20_000);
        run.once('exit', (code) => {
          clearTimeout(t);
          res(code);
        });
      });
      expect(stderr).toContain('in use by another inspectd');
      expect(status).toBe(EXIT_LOG_IN_USE);
      const list = spawnSync(process.execPath, [cliPath, 'verdicts', '--db', path], { encoding: 'utf8' });
      expect(list.status).toBe(0);
      expect(list.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1]);
    } finally {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
      await first.rec.close();
    }
  });
});
