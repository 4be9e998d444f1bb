/**
 * Compares a result.zip made by the real knime2py with its reference outputs
 * (test/fixtures/knime2py-reference/<sample>): the same output files, the same
 * graph (nodes and edges of each .json) and, per workbook .py, the same node
 * functions (`def` names) and imports. The reference's `<in>/` and `<out>/`
 * placeholders are what the runner's scratch-path rewriting leaves as nothing:
 * `<in>/Flow/workflow.knime` is `Flow/workflow.knime` in a result.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { converterExitCodeToError } from '../../core/errors';
import { REFERENCE_DIR } from './samples';

/** Files the runner adds to every result.zip next to the converter's outputs. */
const RUNNER_FILES = ['README.md', 'report.json'];

export function referenceExitCode(sample: string): number {
  return Number(readFileSync(join(REFERENCE_DIR, sample, 'exit_code'), 'utf8').trim());
}

/** The error code a job on this sample ends with (undefined: it succeeds), from the reference exit code. */
export function referenceErrorCode(sample: string): string | undefined {
  return converterExitCodeToError(referenceExitCode(sample));
}

const normalized = (text: string) => text.replaceAll('<in>/', '').replaceAll('<out>/', '');
const decode = (data: Uint8Array) => Buffer.from(data).toString('utf8');

function graph(text: string): unknown {
  const { workflow_id, nodes, edges } = JSON.parse(text) as Record<string, unknown>;
  return { workflow_id, nodes, edges };
}

function pythonShape(text: string): { functions: string[]; imports: string[] } {
  return {
    functions: [...text.matchAll(/^\s*def\s+([A-Za-z_]\w*)\s*\(/gm)].map((m) => m[1]!),
    imports: [...text.matchAll(/^\s*((?:from\s+\S+\s+)?import\s+.+?)\s*$/gm)].map((m) => m[1]!),
  };
}

/** What differs between a result and the sample's reference outputs; empty when they match. */
export function differencesFromReference(sample: string, files: Record<string, Uint8Array>): string[] {
  const outDir = join(REFERENCE_DIR, sample, 'out');
  if (!existsSync(outDir)) return [`no reference outputs for ${sample} (${outDir})`];
  const expected = readdirSync(outDir).sort();
  const actual = Object.keys(files)
    .filter((name) => !RUNNER_FILES.includes(name))
    .sort();
  const problems: string[] = [];
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    problems.push(`files: got ${actual.join(', ')}; reference ${expected.join(', ')}`);
  for (const name of expected.filter((n) => files[n])) {
    const reference = normalized(readFileSync(join(outDir, name), 'utf8'));
    const result = decode(files[name]!);
    if (name.endsWith('.json')) {
      const [got, want] = [JSON.stringify(graph(result)), JSON.stringify(graph(reference))];
      if (got !== want) problems.push(`${name}: graph differs:\n  got       ${got}\n  reference ${want}`);
    } else if (name.endsWith('.py')) {
      const [got, want] = [pythonShape(result), pythonShape(reference)];
      for (const key of ['functions', 'imports'] as const) {
        if (JSON.stringify(got[key]) !== JSON.stringify(want[key]))
          problems.push(`${name}: ${key} differ: got ${JSON.stringify(got[key])}; reference ${JSON.stringify(want[key])}`);
      }
    }
  }
  return problems;
}
