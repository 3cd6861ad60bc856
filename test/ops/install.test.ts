import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/model.js';
import { tempDir } from './helpers.js';

/**
 * scripts/install.sh into a temporary root (--destdir), as a package build would: what it puts where,
 * that the installed unit passes `systemd-analyze verify`, that the installed build runs, that a second
 * run keeps the plant's config and token, and that --dry-run changes nothing. Needs the built dist/.
 */
const script = join(repoRoot, 'scripts/install.sh');
const install = (args: string[]) => spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 120_000 });
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('scripts/install.sh', () => {
  it('is shellcheck clean', () => {
    const r = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('installs the build, user, unit (enabled), config, token and state folder into a root, idempotently', () => {
    const root = tempDir('install');
    const first = install(['--destdir', root, '--hardlink', '--node', process.execPath]);
    expect(first.status, first.stderr).toBe(0);

    const user = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('inspectd:'))!;
    expect(user.split(':')[5]).toBe('/var/lib/inspectd');
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^video:x:44:inspectd$/m);
    expect(existsSync(join(root, 'usr/lib/sysusers.d/inspectd.conf'))).toBe(true);

    const unit = join(root, 'etc/systemd/system/inspectd.service');
    const unitText = readFileSync(unit, 'utf8');
    expect(unitText).toContain(`ExecStart=${process.execPath} /opt/inspectd/dist/src/cli/main.js run -c /etc/inspectd/inspectd.yaml`);
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(verify.stderr.trim()).toBe('');
    expect(verify.status).toBe(0);
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants/inspectd.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/inspectd.service');

    expect(mode(join(root, 'etc/inspectd/inspectd.yaml'))).toBe('640');
    const token = readFileSync(join(root, 'etc/inspectd/command-token'), 'utf8');
    expect(token).toMatch(/^[0-9a-f]{64}\n$/);
    expect(mode(join(root, 'etc/inspectd/command-token'))).toBe('640');
    expect(mode(join(root, 'var/lib/inspectd'))).toBe('750');

    // The installed build runs: check-config loads and self-tests the model from the installed tree.
    const app = join(root, 'opt/inspectd');
    const check = spawnSync(process.execPath, [join(app, 'dist/src/cli/main.js'), 'check-config', join(app, 'config/embedded-demo.yaml')], { encoding: 'utf8', timeout: 60_000 });
    expect(check.stdout).toMatch(/ok .*loaded and self-tested/);
    expect(check.status).toBe(0);

    // Again, as an upgrade: the plant's edited config and its token stay; the build is replaced.
    writeFileSync(join(root, 'etc/inspectd/inspectd.yaml'), '# edited on the line\nstation: press-7\n');
    const second = install(['--destdir', root, '--hardlink', '--node', process.execPath]);
    expect(second.status, second.stderr).toBe(0);
    expect(readFileSync(join(root, 'etc/inspectd/inspectd.yaml'), 'utf8')).toBe('# edited on the line\nstation: press-7\n');
    expect(readFileSync(join(root, 'etc/inspectd/command-token'), 'utf8')).toBe(token);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8').match(/^inspectd:/gm)).toHaveLength(1);
    expect(readdirSync(join(root, 'opt')).sort()).toEqual(['inspectd']);
    expect(readFileSync(unit, 'utf8')).toBe(unitText);
  }, 180_000);

  it('follows --prefix in the unit and the example config', () => {
    const root = tempDir('install-prefix');
    const r = install(['--destdir', root, '--hardlink', '--prefix', '/srv/inspectd', '--no-enable']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(root, 'etc/systemd/system/inspectd.service'), 'utf8')).toMatch(/^ExecStart=\S+ \/srv\/inspectd\/dist\/src\/cli\/main\.js run/m);
    expect(readFileSync(join(root, 'etc/inspectd/inspectd.yaml.example'), 'utf8')).toContain('path: /srv/inspectd/models/');
    expect(existsSync(join(root, 'srv/inspectd/dist/src/cli/main.js'))).toBe(true);
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants'))).toBe(false);
  }, 120_000);

  it('changes nothing with --dry-run, and says what it would do', () => {
    const root = tempDir('install-dry');
    const r = install(['--destdir', root, '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(root)).toEqual([]);
    expect(r.stdout).toMatch(/^\+ systemd-sysusers --root=/m);
    expect(r.stdout).toMatch(/^\+ systemctl --root=\S+ enable inspectd\.service$/m);
  });
});
