/**
 * Reads knime2py's stdout JSON summary (docs/architecture.md "knime2py contract")
 * into ComponentSummary[], with file paths made relative to --out. A summary that
 * points outside --out, or at a file the converter did not write, is rejected:
 * the runner never trusts the converter.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
// zod/mini: the same validation without full zod's ~450 KB, which the runner would load on every task start.
import * as z from 'zod/mini';
import type { ComponentSummary } from '../core/types';

const filePath = z.nullish(z.string().check(z.minLength(1)));
const count = z.int().check(z.nonnegative());

const componentSchema = z.object({
  workflow_id: z.string().check(z.minLength(1)),
  json: filePath,
  dot: filePath,
  workbook_py: filePath,
  workbook_ipynb: filePath,
  nodes: count,
  edges: count,
  idle: count,
  not_implemented_count: count,
  not_implemented_names: z.array(z.string()),
});

const summarySchema = z.object({
  workflow: z.string(),
  total_components: count,
  components: z.array(componentSchema),
});

export class SummaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SummaryError';
  }
}

/**
 * Path of an output relative to --out (POSIX), or an error if it is not inside it.
 * Relative paths are read against the converter's working directory.
 */
function relativeOutput(path: string, cwd: string, outDirs: string[], written: ReadonlySet<string>): string {
  const abs = resolve(cwd, path);
  for (const outDir of outDirs) {
    const rel = relative(outDir, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    const posix = rel.split(sep).join('/');
    if (!written.has(posix)) throw new SummaryError(`the summary names ${posix}, which the converter did not write`);
    return posix;
  }
  throw new SummaryError('the summary names a file outside the output folder');
}

/**
 * Parses the summary. `outDirs` are the spellings of --out the converter may have
 * printed (as given, and with symlinks resolved); `written` are the files found in it.
 */
export function parseSummary(stdout: string, where: { cwd: string; outDirs: string[] }, written: ReadonlySet<string>): ComponentSummary[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new SummaryError('the converter printed no JSON summary');
  }
  const parsed = summarySchema.safeParse(raw);
  if (!parsed.success) throw new SummaryError('the JSON summary does not have the expected shape');
  if (parsed.data.total_components !== parsed.data.components.length) {
    throw new SummaryError('the JSON summary counts a different number of components than it lists');
  }
  const toRelative = (path: string | null | undefined) => (path ? relativeOutput(path, where.cwd, where.outDirs, written) : undefined);
  return parsed.data.components.map((c) => {
    const files = {
      json: toRelative(c.json),
      dot: toRelative(c.dot),
      workbookPy: toRelative(c.workbook_py),
      workbookIpynb: toRelative(c.workbook_ipynb),
    };
    return {
      workflowId: c.workflow_id,
      nodes: c.nodes,
      edges: c.edges,
      idle: c.idle,
      notImplementedCount: c.not_implemented_count,
      notImplementedNames: c.not_implemented_names,
      files: Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)),
    };
  });
}
