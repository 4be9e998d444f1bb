/**
 * Upload validation: the S3-triggered function that checks every uploaded
 * bundle, then rejects it or starts the conversion. Invoked asynchronously by
 * the bucket notification, with bounded concurrency, retries, and an SQS
 * on-failure destination for events it could not process.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../core/service-env';
import { SECURE_QUEUE_PROPS } from './defaults';
import type { JobTable } from './job-table';
import { acknowledge } from './nag';
import { type FunctionDefaults, ServiceFunction } from './service-function';
import type { Storage } from './storage';

export interface UploadValidationProps {
  readonly storage: Storage;
  readonly jobTable: JobTable;
  /** Started (execution name = job id) for every accepted bundle. */
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: FunctionDefaults;
  /**
   * Validations running at once; also the most concurrent S3 reads of bundles.
   * @default 5
   */
  readonly reservedConcurrency?: number;
  /**
   * Extra attempts of a failed invocation before the event goes to the failure queue.
   * @default 2
   */
  readonly retryAttempts?: number;
}

export class UploadValidation extends Construct {
  readonly function: ServiceFunction;
  /** Events the validator failed on after its retries (on-failure destination). */
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: UploadValidationProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
      throw new Error(`UploadValidation: retryAttempts must be 0, 1 or 2 (the Lambda maximum), got ${retryAttempts}`);
    }

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', SECURE_QUEUE_PROPS);
    acknowledge(
      this.failureQueue,
      'AwsSolutions-SQS3',
      'This queue is the on-failure destination (the DLQ) of the upload validator; nothing consumes it automatically and an alarm fires when it is not empty.',
    );

    this.function = new ServiceFunction(this, 'Validator', {
      handler: 'validateUpload',
      defaults: props.functions,
      description: 'Validates an uploaded bundle, then rejects it or starts its conversion',
      environment: { [LAMBDA_ENV.STATE_MACHINE_ARN]: props.stateMachine.stateMachineArn },
      // Streaming inflate + sha256 + XML parsing: CPU-bound, and Lambda CPU scales with memory.
      memorySize: 1024,
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions: props.reservedConcurrency ?? 5,
    });
    const fn = this.function.fn;
    fn.configureAsyncInvoke({
      retryAttempts,
      maxEventAge: Duration.hours(1),
      onFailure: new lambdaDestinations.SqsDestination(this.failureQueue),
    });

    props.storage.notifyOnBundleUpload(fn);
    props.storage.grantReadBundles(fn);
    // A bundle deleted before validation (DELETE /jobs) must read as missing, not denied.
    props.storage.grantListBucket(fn);
    // A rejected bundle is deleted at once: nothing is kept from a rejected upload.
    props.storage.grantDeleteBundles(fn);
    props.jobTable.grantReadWrite(fn);
    props.stateMachine.grantStartExecution(fn);
  }
}
