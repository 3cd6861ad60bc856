import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/model.js';
import { tempDir } from './helpers.js';

/**
 * The unit files as systemd itself reads them (Debian's systemd-analyze and systemd-sysusers, no
 * running systemd needed). Installed by scripts/setup.sh (package systemd).
 */
const unit = join(repoRoot, 'systemd/inspectd.service');
const sysusers = join(repoRoot, 'systemd/inspectd.sysusers.conf');

function settings(file: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
  }
  return map;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify with no warnings', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('scores 2.0 or lower in systemd-analyze security --offline=yes', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const m = /Overall exposure level for inspectd\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
  });

  it('is Type=notify with a watchdog, reload, a start limit and no restart loop on a bad config', () => {
    const s = settings(unit);
    expect(s.get('Type')).toEqual(['notify']);
    expect(Number(s.get('WatchdogSec')?.[0])).toBeGreaterThan(0);
    expect(s.get('Restart')).toEqual(['on-failure']);
    expect(s.get('RestartPreventExitStatus')).toEqual(['78']);
    expect(Number(s.get('StartLimitBurst')?.[0])).toBeGreaterThan(0);
    expect(s.get('ExecReload')?.[0]).toMatch(/kill -HUP \$MAINPID/);
    expect(s.get('ExecStartPre')?.[0]).toMatch(/check-config \/etc\/inspectd\/inspectd\.yaml$/);
    expect(s.get('StateDirectory')).toEqual(['inspectd']);
    expect(s.get('ConfigurationDirectory')).toEqual(['inspectd']);
    expect(s.get('SupplementaryGroups')).toEqual(['video']);
    // V8 needs writable, executable memory for its JIT: the unit must say so rather than break node.
    expect(s.get('MemoryDenyWriteExecute')).toEqual(['no']);
    expect(s.get('DevicePolicy')).toEqual(['closed']);
    expect(s.get('DeviceAllow')).toContain('char-video4linux rw');
    expect(s.get('RestrictAddressFamilies')?.[0]).toContain('AF_UNIX');
  });

  it('its sysusers.d snippet creates a system user inspectd in the video group', () => {
    const root = tempDir('sysusers');
    mkdirSync(join(root, 'etc'));
    // A Debian-like base: the video group exists already (gid 44).
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nvideo:x:44:\n');
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    execFileSync('systemd-sysusers', [`--root=${root}`, sysusers], { stdio: 'pipe' });
    const user = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('inspectd:'));
    expect(user, 'inspectd in passwd').toBeDefined();
    const [, , uid, , , home, shell] = user!.split(':');
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect(home).toBe('/var/lib/inspectd');
    expect(shell).toMatch(/nologin$/);
    const video = readFileSync(join(root, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith('video:'));
    expect(video).toBe('video:x:44:inspectd');
  });
});
