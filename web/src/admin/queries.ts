/**
 * What the admin page's forms ask the API for: empty fields are left out (the API's defaults apply), text is trimmed,
 * and nothing but a known state or error code reaches a query. Pure, so it is unit-tested without a browser.
 */
import type { AdminListJobsQuery, AdminTimeRange } from '../../../core/api-schemas';
import { isErrorCode } from '../../../core/errors';
import { isJobStatus } from '../../../core/job-states';

export interface JobFilters {
  state: string;
  code: string;
  owner: string;
  since: string;
  until: string;
}

/** Jobs per page in the admin table. */
export const JOBS_PAGE_SIZE = 25;

/** The time range of a form: each bound only when given. */
export function rangeQuery(since: string, until: string): AdminTimeRange {
  const range: AdminTimeRange = {};
  if (since.trim()) range.since = since.trim();
  if (until.trim()) range.until = until.trim();
  return range;
}

/** GET /admin/jobs's query for the filters, one page at `nextToken`. */
export function jobsQuery(filters: JobFilters, nextToken?: string, limit = JOBS_PAGE_SIZE): AdminListJobsQuery {
  const query: AdminListJobsQuery = { ...rangeQuery(filters.since, filters.until), limit };
  if (isJobStatus(filters.state)) query.state = filters.state;
  if (isErrorCode(filters.code)) query.code = filters.code;
  if (filters.owner.trim()) query.owner = filters.owner.trim();
  if (nextToken) query.nextToken = nextToken;
  return query;
}

/** The filters in words, for the table's caption and the live region ("FAILED, code X, owner Y, since 7d"). */
export function describeFilters(filters: JobFilters): string {
  const parts: string[] = [];
  if (isJobStatus(filters.state)) parts.push(`state ${filters.state}`);
  if (isErrorCode(filters.code)) parts.push(`code ${filters.code}`);
  if (filters.owner.trim()) parts.push(`owner ${filters.owner.trim()}`);
  parts.push(`since ${filters.since.trim() || '30d'}`);
  if (filters.until.trim()) parts.push(`until ${filters.until.trim()}`);
  return parts.join(', ');
}

/** Pages already seen, so "Previous page" can go back: the token each page was asked with (none for the first). */
export class PageTokens {
  private readonly tokens: (string | undefined)[] = [undefined];

  /** 1-based number of the current page. */
  get page(): number {
    return this.tokens.length;
  }

  get current(): string | undefined {
    return this.tokens.at(-1);
  }

  get hasPrevious(): boolean {
    return this.tokens.length > 1;
  }

  next(token: string): void {
    this.tokens.push(token);
  }

  previous(): void {
    if (this.tokens.length > 1) this.tokens.pop();
  }

  reset(): void {
    this.tokens.length = 1;
  }
}
