/** Scheduled: end every stuck job and make the capacity ledgers match the jobs in flight. */
import { createDocumentClient } from './shared/aws/dynamodb';
import { createS3Client } from './shared/aws/s3';
import { createSfnClient } from './shared/aws/sfn';
import { Capacity } from './shared/capacity';
import { bucketName, stateMachineArn, tableConfig } from './shared/config';
import { eventHandler } from './shared/event-handler';
import { Executions } from './shared/executions';
import { JobObjects } from './shared/job-objects';
import { JobStore } from './shared/job-store';
import { reap, type ReaperDeps, type ReaperSummary } from './shared/reaping';

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
