/**
 * report.json: the ConversionReport of core/types.ts. The full report (with the
 * job id, timestamps and durations) is uploaded to REPORT_URL; the copy inside
 * result.zip leaves out what differs from one run to the next, so the same
 * bundle always gives a byte-identical result.zip.
 */
import type { ComponentSummary, ConversionReport, ResultSummary } from '../core/types';

export function summarize(components: ComponentSummary[], files: string[], resultBytes?: number): ResultSummary {
  const total = (pick: (c: ComponentSummary) => number) => components.reduce((sum, c) => sum + pick(c), 0);
  return {
    components: components.length,
    nodes: total((c) => c.nodes),
    edges: total((c) => c.edges),
    idle: total((c) => c.idle),
    notImplemented: total((c) => c.notImplementedCount),
    notImplementedNames: [...new Set(components.flatMap((c) => c.notImplementedNames))].sort(),
    files,
    ...(resultBytes === undefined ? {} : { resultBytes }),
  };
}

/** Fields of the report that change between two runs of the same bundle. */
export type RunSpecificField = 'jobId' | 'startedAt' | 'finishedAt' | 'durationsMs' | 'stderrTail';
export type ArchivedReport = Omit<ConversionReport, RunSpecificField>;

/** The reproducible copy of the report stored in result.zip (no resultBytes: the zip cannot know its own size). */
export function archivedReport(report: ConversionReport): ArchivedReport {
  const { jobId: _jobId, startedAt: _s, finishedAt: _f, durationsMs: _d, stderrTail: _e, ...stable } = report;
  const { resultBytes: _r, ...summary } = stable.summary;
  return { ...stable, summary };
}

export function serializeReport(report: ConversionReport | ArchivedReport): Uint8Array {
  return Buffer.from(JSON.stringify(report, null, 2) + '\n', 'utf8');
}
