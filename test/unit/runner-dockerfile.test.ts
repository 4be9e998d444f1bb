/**
 * Docker cannot run here, so the runner image is checked by inspection: the lines
 * the sandbox depends on (non-root numeric user, scratch volume, pinned bases,
 * small build context).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNIME2PY_VERSION } from '../../core/runner-contract';
import { RUNNER_NODE_IMAGE, SERVICE_NODE_MAJOR } from '../../core/runtime-contract';
import { RUNNER_SCRATCH_DIR } from '../../core/service-env';

const dockerfile = readFileSync('runner/Dockerfile', 'utf8');
const dockerignore = readFileSync('runner/.dockerignore', 'utf8');
/** Instructions with comments removed and continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const all = (keyword: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `));

describe('runner/Dockerfile', () => {
  it('builds FROM the knime2py image named by a build arg defaulting to the v0.1.11 release', () => {
    expect(instructions[0]).toBe('ARG KNIME2PY_IMAGE=ghcr.io/vitalii-kaplan/knime2py:v0.1.11');
    expect(all('FROM').at(-1)).toBe('FROM ${KNIME2PY_IMAGE}');
  });

  it('defaults KNIME2PY_VERSION and the image tag to the release pinned in core/runner-contract.ts', () => {
    expect(instructions).toContain(`ARG KNIME2PY_VERSION=${KNIME2PY_VERSION}`);
    expect(instructions[0]).toBe(`ARG KNIME2PY_IMAGE=ghcr.io/vitalii-kaplan/knime2py:v${KNIME2PY_VERSION}`);
  });

  it(`takes Node ${SERVICE_NODE_MAJOR} (the service major) from the official image, and never a latest tag`, () => {
    // The default equals what the CDK app passes, so a plain `docker build` gives the same Node.
    expect(RUNNER_NODE_IMAGE).toBe(`node:${SERVICE_NODE_MAJOR}-bookworm-slim`);
    expect(instructions).toContain(`ARG NODE_IMAGE=${RUNNER_NODE_IMAGE}`);
    expect(all('FROM')[0]).toBe('FROM ${NODE_IMAGE} AS node');
    expect(all('COPY')).toContain('COPY --from=node /usr/local/bin/node /usr/local/bin/node');
    expect(dockerfile).not.toMatch(/:latest\b/);
  });

  it('records the converter image and version as labels and in the environment', () => {
    const label = all('LABEL').join(' ');
    expect(label).toContain('io.k2p-web.converter.image="${KNIME2PY_IMAGE}"');
    expect(label).toContain('io.k2p-web.converter.version="${KNIME2PY_VERSION}"');
    const env = all('ENV').join(' ');
    expect(env).toContain('CONVERTER_IMAGE="${KNIME2PY_IMAGE}"');
    expect(env).toContain(`SCRATCH_DIR=${RUNNER_SCRATCH_DIR}`);
    // The stage re-declares the arg, or LABEL/ENV would see an empty value.
    const stageStart = instructions.indexOf('FROM ${KNIME2PY_IMAGE}');
    expect(instructions.indexOf('ARG KNIME2PY_IMAGE')).toBeGreaterThan(stageStart);
  });

  it('runs as a numeric non-root user that owns the scratch volume', () => {
    const users = all('USER');
    expect(users).toHaveLength(1);
    const match = /^USER (\d+)(?::(\d+))?$/.exec(users[0] ?? '');
    expect(match).not.toBeNull();
    const uid = Number(match?.[1]);
    expect(uid).toBeGreaterThanOrEqual(1000);
    expect(dockerfile).toContain(`chown ${match?.[1]}:${match?.[2] ?? match?.[1]} ${RUNNER_SCRATCH_DIR}`);
    expect(all('VOLUME')).toEqual([`VOLUME ["${RUNNER_SCRATCH_DIR}"]`]);
    // USER comes after every RUN: nothing runs as root at run time.
    expect(instructions.findIndex((l) => l.startsWith('USER'))).toBeGreaterThan(
      instructions.map((l) => l.startsWith('RUN')).lastIndexOf(true),
    );
  });

  it('starts the bundled runner it copies', () => {
    expect(all('COPY')).toContain('COPY dist/runner.mjs /opt/k2p-web/runner.mjs');
    expect(all('ENTRYPOINT')).toEqual(['ENTRYPOINT ["node", "/opt/k2p-web/runner.mjs"]']);
  });

  it('keeps the build context to the Dockerfile and the bundle', () => {
    const rules = dockerignore
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual(['*', '!Dockerfile', '!dist/runner.mjs']);
  });
});
