/** Scheduled: end every stuck job and make the capacity ledgers match the jobs in flight. */
import { createDocumentClient } from '../storage/dynamodb-client';
import { createS3Client } from '../storage/s3-client';
import { createSfnClient } from '../storage/sfn-client';
import { Capacity } from '../storage/capacity';
import { bucketName, stateMachineArn, tableConfig } from '../runtime/config';
import { eventHandler } from '../runtime/event-handler';
import { Executions } from '../storage/executions';
import { JobObjects } from '../storage/job-objects';
import { JobStore } from '../storage/job-store';
import { reap, type ReaperDeps, type ReaperSummary } from '../use-cases/reaping';

const ddb = createDocumentClient();
const { tableName, limits } = tableConfig();
const deps: ReaperDeps = {
  store: new JobStore(ddb, tableName),
  capacity: new Capacity(ddb, tableName),
  objects: new JobObjects(createS3Client(), bucketName()),
  executions: new Executions(createSfnClient(), stateMachineArn()),
  limits,
};

export const handler = eventHandler<unknown, ReaperSummary>(async () => reap(deps));
