/**
 * Reading EventBridge's "ECS Task State Change" event: which job a stopped
 * task ran (JOB_ID in its container overrides) and why it stopped. Pure.
 */
import * as z from 'zod/mini';
import { JOB_ID_PATTERN } from '../../core/api-schemas';
import { RUNNER_ENV } from '../../core/service-env';

const TaskStateChangeSchema = z.object({
  'detail-type': z.literal('ECS Task State Change'),
  detail: z.object({
    lastStatus: z.string(),
    taskArn: z.optional(z.string()),
    stopCode: z.optional(z.string()),
    stoppedReason: z.optional(z.string()),
    overrides: z.optional(
      z.object({
        containerOverrides: z.optional(
          z.array(
            z.object({
              name: z.optional(z.string()),
              environment: z.optional(z.array(z.object({ name: z.string(), value: z.optional(z.string()) }))),
            }),
          ),
        ),
      }),
    ),
  }),
});

export interface StoppedTask {
  jobId: string;
  taskArn?: string;
  stopCode?: string;
  stoppedReason?: string;
}

/** The job of a STOPPED task; undefined for other events or tasks that name no (valid) job. */
export function stoppedTaskOf(event: unknown): StoppedTask | undefined {
  const parsed = TaskStateChangeSchema.safeParse(event);
  if (!parsed.success || parsed.data.detail.lastStatus !== 'STOPPED') return undefined;
  const { detail } = parsed.data;
  const jobId = (detail.overrides?.containerOverrides ?? [])
    .flatMap((container) => container.environment ?? [])
    .find((variable) => variable.name === RUNNER_ENV.JOB_ID)?.value;
  if (!jobId || !JOB_ID_PATTERN.test(jobId)) return undefined;
  return { jobId, taskArn: detail.taskArn, stopCode: detail.stopCode, stoppedReason: detail.stoppedReason };
}
