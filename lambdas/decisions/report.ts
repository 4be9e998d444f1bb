/**
 * report.json as the runner writes it (core/types.ts ConversionReport), parsed
 * defensively: the runner is ours, but the file crossed a process boundary.
 */
import * as z from 'zod/mini';
import type { ResultSummary } from '../../core/types';

const count = z.catch(z.int().check(z.nonnegative()), 0);

const SummarySchema = z.object({
  components: count,
  nodes: count,
  edges: count,
  idle: count,
  notImplemented: count,
  notImplementedNames: z.catch(z.array(z.string()), []),
  files: z.catch(z.array(z.string()), []),
});

const optional = <T extends z.ZodMiniType>(schema: T) => z.catch(z.optional(schema), undefined);

export const ReportSchema = z.object({
  jobId: z.string(),
  outcome: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT']),
  error: optional(z.object({ code: z.string(), message: z.string(), details: z.optional(z.record(z.string(), z.unknown())) })),
  exitCode: z.catch(z.optional(z.nullable(z.int())), null),
  converter: optional(z.object({ version: z.optional(z.nullable(z.string())), image: z.optional(z.nullable(z.string())) })),
  summary: optional(SummarySchema),
  durationsMs: optional(z.object({ convert: z.optional(z.number()), total: z.optional(z.number()) })),
  /** The converter's stderr, trimmed by the runner, scratch paths rewritten. */
  stderrTail: optional(z.string()),
});
export type ParsedReport = z.infer<typeof ReportSchema>;

export const MAX_REPORT_BYTES = 1024 * 1024;

export type ReportRead = { kind: 'ok'; report: ParsedReport } | { kind: 'missing' } | { kind: 'invalid'; reason: string };

export function parseReport(bytes: Uint8Array, jobId: string): ReportRead {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { kind: 'invalid', reason: 'report.json is not JSON' };
  }
  const parsed = ReportSchema.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: 'report.json does not match the report schema' };
  if (parsed.data.jobId !== jobId) return { kind: 'invalid', reason: 'report.json belongs to another job' };
  return { kind: 'ok', report: parsed.data };
}

export function summaryFromReport(report: ParsedReport, resultBytes: number | undefined): ResultSummary {
  const summary = report.summary ?? { components: 0, nodes: 0, edges: 0, idle: 0, notImplemented: 0, notImplementedNames: [], files: [] };
  return { ...summary, ...(resultBytes === undefined ? {} : { resultBytes }) };
}
