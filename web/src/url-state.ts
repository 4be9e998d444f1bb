/**
 * The job being shown lives in the URL (`?job=<id>`), so a reload, a
 * bookmark or a second tab finds it again; nothing is kept in cookies.
 */
import { JOB_ID_PATTERN } from '../../core/api-schemas';

export const JOB_PARAM = 'job';

/** The job id of a page URL, when it names a well-formed one. */
export function jobIdFromUrl(href: string): string | undefined {
  const value = new URL(href).searchParams.get(JOB_PARAM);
  return value !== null && JOB_ID_PATTERN.test(value) ? value : undefined;
}

/** The page URL showing `jobId` (or none), other parameters and the fragment kept. */
export function urlWithJob(href: string, jobId: string | undefined): string {
  const url = new URL(href);
  if (jobId === undefined) url.searchParams.delete(JOB_PARAM);
  else url.searchParams.set(JOB_PARAM, jobId);
  return url.toString();
}

/** A relative link to a job (for the recent-jobs list). */
export function jobLink(jobId: string): string {
  return `?${JOB_PARAM}=${encodeURIComponent(jobId)}`;
}
