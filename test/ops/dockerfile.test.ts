import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/model.js';
import { tempDir } from './helpers.js';

/**
 * Dockerfile.jetson cannot be built here (no Docker engine, no Jetson), so it is linted: the
 * Dockerfile itself by dockerfile-utils (npm, devDependency) and every RUN step by shellcheck
 * (Debian package shellcheck), as /bin/sh runs them.
 */
const dockerfile = join(repoRoot, 'Dockerfile.jetson');

/** Each RUN instruction's shell command, continuation lines joined. */
function runSteps(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .filter((l) => /^RUN\s/.test(l))
    .map((l) => l.replace(/^RUN\s+/, '').trim());
}

describe('Dockerfile.jetson', () => {
  it('passes dockerfile-utils lint', () => {
    const r = spawnSync(join(repoRoot, 'node_modules/.bin/dockerfile-utils'), ['lint', dockerfile], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has RUN steps that pass shellcheck', () => {
    const steps = runSteps(readFileSync(dockerfile, 'utf8'));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    const dir = tempDir('dockerfile');
    steps.forEach((step, i) => {
      const file = join(dir, `run-${i}.sh`);
      writeFileSync(file, `#!/bin/sh\n${step}\n`);
      const r = spawnSync('shellcheck', ['--shell=sh', file], { encoding: 'utf8' });
      expect(r.stdout, step).toBe('');
      expect(r.status).toBe(0);
    });
  });

  it('runs Node 24 as a non-root user, with config and data as volumes and a health check on /readyz', () => {
    const text = readFileSync(dockerfile, 'utf8');
    expect(text).toMatch(/node_24\.x/);
    expect(text).toMatch(/^USER inspectd$/m);
    expect(text).toMatch(/^VOLUME \["\/etc\/inspectd", "\/var\/lib\/inspectd"\]$/m);
    expect(text).toMatch(/^HEALTHCHECK .*\n.*\/readyz/m);
    expect(text.match(/^FROM /gm)).toHaveLength(2); // multi-stage: no compilers in the image that runs
  });
});
