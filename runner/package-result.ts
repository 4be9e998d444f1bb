/**
 * Turns what the converter left in --out into result.zip entries: regular files
 * only, scratch paths rewritten, the summary checked against the files, the
 * README and the reproducible report added.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../core/errors';
import type { ComponentSummary, ConversionReport } from '../core/types';
import type { Logger } from './log';
import { renderReadme, requiredPackages } from './readme';
import { archivedReport, serializeReport } from './report';
import type { ZipEntry } from './result-zip';
import type { ScratchRewriter } from './rewrite';
import { parseSummary, SummaryError } from './summary';
import { strayFiles, walk, type Workspace } from './workspace';

export const README_NAME = 'README.md';
export const REPORT_NAME = 'report.json';
const RESERVED = new Set([README_NAME, REPORT_NAME]);

/** The converter's regular files under --out, rewritten, sorted by name; anything else is logged and left out. */
export async function collectOutputs(ws: Workspace, rewriter: ScratchRewriter, log: Logger): Promise<ZipEntry[]> {
  const found = await walk(ws.outDir);
  const skipped = found.filter((f) => f.kind !== 'file' || RESERVED.has(f.path));
  if (skipped.length > 0) {
    log.warn('converter outputs left out of the result', { files: skipped.map((f) => `${f.path} (${f.kind})`) });
  }
  const files = found
    .filter((f) => f.kind === 'file' && !RESERVED.has(f.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entries: ZipEntry[] = [];
  for (const file of files) {
    entries.push({ name: file.path, data: rewriter.bytes(await readFile(join(ws.outDir, file.path))) });
  }
  return entries;
}

/** Logs (never packages) files the converter wrote outside --out, TMPDIR and HOME. */
export async function flagStrays(ws: Workspace, inputFiles: ReadonlySet<string>, log: Logger): Promise<string[]> {
  const strays = await strayFiles(ws, inputFiles);
  if (strays.length > 0) log.warn('converter wrote outside its output folder; ignored', { files: strays.slice(0, 50) });
  return strays;
}

export function componentsFromStdout(stdout: string, ws: Workspace, outputs: ZipEntry[]): ComponentSummary[] {
  try {
    return parseSummary(stdout, { cwd: ws.root, outDirs: [ws.outDir, ws.realRoot + '/out'] }, new Set(outputs.map((o) => o.name)));
  } catch (err) {
    if (!(err instanceof SummaryError)) throw err;
    throw new DomainError('CONVERTER_FAILED', `knime2py finished but its result cannot be used: ${err.message}.`);
  }
}

/** README.md and report.json first, then the outputs: the fixed order of result.zip. */
export function resultEntries(report: ConversionReport, outputs: ZipEntry[]): ZipEntry[] {
  const readme = renderReadme({
    workflow: report.workflow,
    converterVersion: report.converter.version,
    components: report.components,
    packages: requiredPackages(outputs),
  });
  return [
    { name: README_NAME, data: Buffer.from(readme, 'utf8') },
    { name: REPORT_NAME, data: serializeReport(archivedReport(report)) },
    ...outputs,
  ];
}

/** The last line of defence: no entry may still name the run directory. */
export function assertNoScratchPaths(entries: ZipEntry[], rewriter: ScratchRewriter): void {
  const leaking = entries.filter((e) => rewriter.leaks(e.data)).map((e) => e.name);
  if (leaking.length > 0) {
    throw new DomainError('RUNNER_FAILED', 'The result still contained sandbox paths and was withheld.', {
      details: { files: leaking },
    });
  }
}
