/** What the admin page's sections need from the page around them (admin-app.ts provides it). */
import type { ApiClient } from '../../../core/api-client';
import type { ConfirmRequest } from './confirm';

export interface AdminShell {
  readonly client: ApiClient;
  /** Says something in the live region (results, done actions). */
  announce(message: string): void;
  /** Shows a failure (code, message, hint); a 403 turns the whole page into "Not allowed". */
  failed(error: unknown, doing: string): void;
  /** Clears the error box after a success. */
  cleared(): void;
  confirm(request: ConfirmRequest): Promise<boolean>;
  /** Jobs of one principal, from the other sections. */
  showJobsOf(owner: string): void;
}
