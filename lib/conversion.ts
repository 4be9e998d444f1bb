/**
 * The conversion pipeline: an ECS cluster and the sandboxed Fargate task that
 * runs knime2py (read-only root filesystem, numeric non-root user, every Linux
 * capability dropped, no task role, isolated network), and the Standard state
 * machine around it:
 *
 *   PrepareRun ─▶ Skip? ─yes▶ Skipped
 *        │          └─no─▶ RunConverter (ecs:runTask.sync) ─▶ ConverterFinished ─▶ RecordOutcome ─▶ Done
 *        └──── Catch ALL ───────────┴──── Catch ALL ($.taskError) ──────────────────▶ RecordOutcome
 *
 * Every path ends in RecordOutcome, which makes the job terminal and frees its slot.
 */
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { STEPFUNCTIONS_TASKS_FIX_RUN_ECS_TASK_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { type BundleLimits, type ServiceLimits, limitsToEnv } from '../core/limits';
import { RUNNER_NODE_IMAGE } from '../core/runtime-contract';
import { RUNNER_ENV, RUNNER_SCRATCH_DIR } from '../core/service-env';
import type { CpuArchitectureName } from './config';
import { LAMBDA_STEP_TIMEOUT, LOG_REMOVAL_POLICY, REPO_ROOT, logRetention } from './defaults';
import type { JobTable } from './job-table';
import { acknowledge, arnOf } from './nag';
import type { IsolatedNetwork } from './network';
import { type FunctionDefaults, ServiceFunction } from './service-function';
import type { Storage } from './storage';

/** Numeric uid the runner image creates (runner/Dockerfile); numeric so ECS cannot map it to root. */
export const RUNNER_USER = '10001';

/** Name of the bind-mount volume at {@link RUNNER_SCRATCH_DIR} (the only writable path). */
export const SCRATCH_VOLUME = 'scratch';

/** Errors of RunTask itself (the task never started): safe to retry. Anything else ran the converter. */
export const LAUNCH_ERRORS = ['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException'];

/** Added to the task timeout for the whole execution: Lambda steps, their retries and RunTask launch retries. */
export const EXECUTION_SLACK = Duration.minutes(15);

/** Where the prepare-run step's output lands in the execution state; the container overrides read from it. */
export const RUN_PATH = '$.run';

/**
 * Fields of prepare-run's output (`$.run`) that become the runner's environment.
 * JOB_ID comes from the execution input.
 */
export const RUN_OVERRIDES: Readonly<Record<string, string>> = {
  [RUNNER_ENV.JOB_ID]: '$.jobId',
  [RUNNER_ENV.INPUT_URL]: `${RUN_PATH}.inputUrl`,
  [RUNNER_ENV.INPUT_SHA256]: `${RUN_PATH}.inputSha256`,
  [RUNNER_ENV.RESULT_URL]: `${RUN_PATH}.resultUrl`,
  [RUNNER_ENV.REPORT_URL]: `${RUN_PATH}.reportUrl`,
  [RUNNER_ENV.WORKFLOW_NAME]: `${RUN_PATH}.workflowName`,
  [RUNNER_ENV.K2P_WORKBOOK]: `${RUN_PATH}.workbook`,
  [RUNNER_ENV.K2P_GRAPH]: `${RUN_PATH}.graph`,
  [RUNNER_ENV.LOG_URL]: `${RUN_PATH}.logUrl`,
};

export interface ConversionProps {
  /**
   * Invoked asynchronously (InvocationType Event) with `{jobId}` after RecordOutcome: the webhook sender.
   * @default - none (deliveries wait for the sender's schedule)
   */
  readonly notifyFinished?: lambda.IFunction;
  readonly network: IsolatedNetwork;
  readonly storage: Storage;
  readonly jobTable: JobTable;
  /** Shared function environment, log retention and code overrides. */
  readonly functions: FunctionDefaults;
  /** Limits handed to the runner (bundle policy, converter timeout, output cap). */
  readonly bundleLimits: BundleLimits;
  readonly serviceLimits: ServiceLimits;
  /** knime2py image reference the runner image is built FROM (a tag or a digest-pinned reference). */
  readonly converterImage: string;
  /** knime2py release inside `converterImage` (runner/Dockerfile fails the build on a mismatch). */
  readonly converterVersion: string;
  /**
   * The runner image.
   * @default - built from runner/Dockerfile (context runner/, after `runner/build.ts` bundled dist/runner.mjs)
   */
  readonly containerImage?: ecs.ContainerImage;
  /**
   * Fargate CPU units.
   * @default 512
   */
  readonly taskCpu?: number;
  /**
   * Fargate memory, MiB.
   * @default 1024
   */
  readonly taskMemoryMiB?: number;
  /**
   * CPU architecture of the task (and of the built image).
   * @default 'ARM64'
   */
  readonly architecture?: CpuArchitectureName;
  /**
   * Seconds allowed for the task to start (image pull, ENI) on top of the converter limit (60–900).
   * @default 240
   */
  readonly taskStartMarginSeconds?: number;
  /**
   * Retention of the task's and the state machine's logs, days.
   * @default 30
   */
  readonly logRetentionDays?: number;
}

export class Conversion extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** The only role of the task: pulls the image and writes its logs; the runner gets no credentials. */
  readonly executionRole: iam.Role;
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineLogGroup: logs.LogGroup;
  readonly taskLogGroup: logs.LogGroup;
  readonly prepareRun: ServiceFunction;
  readonly recordOutcome: ServiceFunction;
  /** TimeoutSeconds of RunConverter: converter limit + start margin. */
  readonly taskTimeout: Duration;
  private readonly notifyFinished?: lambda.IFunction;

  constructor(scope: Construct, id: string, props: ConversionProps) {
    super(scope, id);
    // ecs:RunTask on this task definition revision only, not on every revision of its family.
    this.node.setContext(STEPFUNCTIONS_TASKS_FIX_RUN_ECS_TASK_POLICY, true);
    const margin = props.taskStartMarginSeconds ?? 240;
    if (!Number.isInteger(margin) || margin < 60 || margin > 900) {
      throw new Error(
        `Conversion: taskStartMarginSeconds must be 60–900 (the execution must end before the reaper's deadline), got ${margin}`,
      );
    }
    this.taskTimeout = Duration.seconds(props.serviceLimits.converterTimeoutSeconds + margin);
    this.notifyFinished = props.notifyFinished;
    const retention = logRetention(props.logRetentionDays ?? 30);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'k2p-web converter task execution role: pull the runner image and write its logs, nothing else',
    });
    this.taskLogGroup = new logs.LogGroup(this, 'TaskLogs', { retention, removalPolicy: LOG_REMOVAL_POLICY });
    this.taskDefinition = this.createTaskDefinition(props);
    this.container = this.createContainer(props);

    this.prepareRun = new ServiceFunction(this, 'PrepareRun', {
      handler: 'prepareRun',
      defaults: props.functions,
      description: 'Marks the job RUNNING and mints the presigned URLs for the converter task',
      timeout: Duration.seconds(15),
    });
    props.jobTable.grantReadWrite(this.prepareRun.fn);
    // Presigned URLs carry the signer's rights: GET of the bundle, PUT of result.zip and report.json.
    props.storage.grantReadBundles(this.prepareRun.fn);
    props.storage.grantPutResults(this.prepareRun.fn);

    this.recordOutcome = new ServiceFunction(this, 'RecordOutcome', {
      handler: 'recordOutcome',
      defaults: props.functions,
      description: 'Reads report.json, records the terminal outcome and releases the capacity slot',
      timeout: Duration.seconds(30),
    });
    props.jobTable.grantReadWrite(this.recordOutcome.fn);
    props.storage.grantReadResults(this.recordOutcome.fn);
    // A task that never started leaves no report.json: that must read as missing (404), not denied.
    props.storage.grantListBucket(this.recordOutcome.fn);
    // The bundle goes once the job ends; a failed run's partial result too.
    props.storage.grantDeleteBundles(this.recordOutcome.fn);
    props.storage.grantDeleteResults(this.recordOutcome.fn);

    this.stateMachineLogGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/k2p-web-${Stack.of(this).stackName}`,
      retention,
      removalPolicy: LOG_REMOVAL_POLICY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(this.createDefinition(props)),
      comment: 'k2p-web: prepare, run the knime2py converter on Fargate, record the outcome',
      // Longer than every retry path, shorter than the reaper's run deadline (converter limit + 30 min,
      // lambdas/decisions/deadlines.ts) as long as the start margin stays ≤ 15 min: the execution ends first.
      timeout: this.taskTimeout.plus(EXECUTION_SLACK),
      tracingEnabled: true,
      logs: {
        destination: this.stateMachineLogGroup,
        level: sfn.LogLevel.ALL,
        // State data holds presigned URLs: keep it out of the logs.
        includeExecutionData: false,
      },
    });
    this.acknowledgeNagFindings();
  }

  /** What Step Functions integrations and the Fargate task require, each with why it is acceptable. */
  private acknowledgeNagFindings(): void {
    const smRole = this.stateMachine.role;
    acknowledge(
      smRole,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions service integration requirements: CloudWatch Logs delivery (logs:*LogDelivery, PutResourcePolicy, Describe*), X-Ray tracing, and ecs:StopTask/DescribeTasks of the .sync pattern have no resource-level permissions.',
    );
    for (const fn of [this.prepareRun.fn, this.recordOutcome.fn, ...(this.notifyFinished ? [this.notifyFinished] : [])]) {
      acknowledge(
        smRole,
        `AwsSolutions-IAM5[Resource::${arnOf(fn)}:*]`,
        'LambdaInvoke grant: the function and its versions/aliases (":*"), nothing else.',
      );
    }
    // The task itself has no role at all; its execution role pulls the image and writes logs.
    acknowledge(
      this.executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions; every other ECR action is on the runner repository only.',
    );
    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'The container environment holds only non-secret configuration (limits, image reference, scratch path); per-job values come as container overrides and there are no secrets.',
    );
  }

  private createTaskDefinition(props: ConversionProps): ecs.FargateTaskDefinition {
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.taskCpu ?? 512,
      memoryLimitMiB: props.taskMemoryMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: props.architecture === 'X86_64' ? ecs.CpuArchitecture.X86_64 : ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      executionRole: this.executionRole,
      // No host path: a Fargate bind mount on task storage, the only writable place.
      volumes: [{ name: SCRATCH_VOLUME }],
    });
    removeTaskRole(taskDefinition, this.executionRole);
    return taskDefinition;
  }

  private createContainer(props: ConversionProps): ecs.ContainerDefinition {
    const linuxParameters = new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true });
    linuxParameters.dropCapabilities(ecs.Capability.ALL);
    const container = this.taskDefinition.addContainer('Runner', {
      image: props.containerImage ?? runnerImageFromAsset(props),
      essential: true,
      readonlyRootFilesystem: true,
      user: RUNNER_USER,
      privileged: false,
      linuxParameters,
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'runner',
        logGroup: this.taskLogGroup,
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
      }),
      environment: {
        ...limitsToEnv(props.bundleLimits, props.serviceLimits),
        [RUNNER_ENV.CONVERTER_IMAGE]: props.converterImage,
        [RUNNER_ENV.SCRATCH_DIR]: RUNNER_SCRATCH_DIR,
      },
    });
    container.addMountPoints({ containerPath: RUNNER_SCRATCH_DIR, sourceVolume: SCRATCH_VOLUME, readOnly: false });
    return container;
  }

  private createDefinition(props: ConversionProps): sfn.IChainable {
    const recordOutcome = new tasks.LambdaInvoke(this, 'RecordOutcomeStep', {
      stateName: 'RecordOutcome',
      lambdaFunction: this.recordOutcome.fn,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({
        jobId: sfn.JsonPath.stringAt('$.jobId'),
        taskError: sfn.JsonPath.objectAt('$.taskError'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
      retryOnServiceExceptions: true,
      taskTimeout: sfn.Timeout.duration(this.recordOutcome.fn.timeout!.plus(LAMBDA_STEP_TIMEOUT)),
    });
    // Recording is idempotent (conditional writes): retry a failing attempt before giving up to the reaper.
    recordOutcome.addRetry({
      errors: ['States.TaskFailed', 'States.Timeout'],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 4,
    });
    const done = new sfn.Succeed(this, 'Done', { stateName: 'Done' });
    if (props.notifyFinished) {
      const notify = new tasks.LambdaInvoke(this, 'NotifyFinishedStep', {
        stateName: 'NotifyFinished',
        comment: 'Nudges the webhook sender for this job (fire and forget)',
        lambdaFunction: props.notifyFinished,
        invocationType: tasks.LambdaInvocationType.EVENT,
        payload: sfn.TaskInput.fromObject({ jobId: sfn.JsonPath.stringAt('$.jobId') }),
        resultPath: sfn.JsonPath.DISCARD,
        retryOnServiceExceptions: true,
      });
      // The schedule delivers anyway: a failed nudge must not fail a finished conversion.
      notify.addCatch(done, { errors: [sfn.Errors.ALL], resultPath: sfn.JsonPath.DISCARD });
      recordOutcome.next(notify.next(done));
    } else {
      recordOutcome.next(done);
    }

    const prepareRun = new tasks.LambdaInvoke(this, 'PrepareRunStep', {
      stateName: 'PrepareRun',
      lambdaFunction: this.prepareRun.fn,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject({ jobId: sfn.JsonPath.stringAt('$.jobId') }),
      resultPath: RUN_PATH,
      retryOnServiceExceptions: true,
      taskTimeout: sfn.Timeout.duration(this.prepareRun.fn.timeout!.plus(LAMBDA_STEP_TIMEOUT)),
    });
    prepareRun.addCatch(recordOutcome, { errors: [sfn.Errors.ALL], resultPath: '$.taskError' });

    const runConverter = new tasks.EcsRunTask(this, 'RunConverterStep', {
      stateName: 'RunConverter',
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.VERSION1_4 }),
      subnets: props.network.taskSubnets,
      securityGroups: [props.network.taskSecurityGroup],
      assignPublicIp: false,
      containerOverrides: [
        {
          containerDefinition: this.container,
          environment: Object.entries(RUN_OVERRIDES).map(([name, path]) => ({ name, value: sfn.JsonPath.stringAt(path) })),
        },
      ],
      taskTimeout: sfn.Timeout.duration(this.taskTimeout),
      // The task description repeats the presigned URLs; nothing downstream needs it.
      resultPath: sfn.JsonPath.DISCARD,
    });
    runConverter.addRetry({
      errors: LAUNCH_ERRORS,
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL,
    });
    runConverter.addCatch(recordOutcome, { errors: [sfn.Errors.ALL], resultPath: '$.taskError' });

    // An empty object, not null: interpreters differ on `"Result": null` (aws-local-stepfunctions
    // treats it as absent and passes the whole input), while `{}` means the same everywhere.
    const converterFinished = new sfn.CustomState(this, 'ConverterFinished', {
      stateJson: {
        Type: 'Pass',
        Comment: 'The success path enters RecordOutcome with an empty taskError',
        Result: {},
        ResultPath: '$.taskError',
      },
    });

    const skip = new sfn.Choice(this, 'SkipRun', { stateName: 'SkipRun', comment: 'prepare-run found the job already terminal' })
      .when(
        sfn.Condition.and(sfn.Condition.isPresent('$.run.skip'), sfn.Condition.booleanEquals('$.run.skip', true)),
        new sfn.Succeed(this, 'Skipped', { stateName: 'Skipped' }),
      )
      .otherwise(runConverter.next(converterFinished).next(recordOutcome));

    return prepareRun.next(skip);
  }
}

/** Docker build context of the runner image: runner/ (its .dockerignore keeps it to the Dockerfile and dist/). */
export const RUNNER_CONTEXT = path.join(REPO_ROOT, 'runner');

/** The runner image built from runner/Dockerfile FROM the configured knime2py image. */
function runnerImageFromAsset(props: ConversionProps): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(RUNNER_CONTEXT, {
    platform: props.architecture === 'X86_64' ? Platform.LINUX_AMD64 : Platform.LINUX_ARM64,
    buildArgs: { KNIME2PY_IMAGE: props.converterImage, KNIME2PY_VERSION: props.converterVersion, NODE_IMAGE: RUNNER_NODE_IMAGE },
  });
}

/**
 * ECS's TaskDefinition always creates a task role; the runner must have none
 * (no credentials inside the sandbox). Drop the role and TaskRoleArn from the
 * template, and let `taskRole` answer with an immutable view of the execution
 * role, so that consumers such as EcsRunTask grant iam:PassRole on the
 * execution role only and nothing can add statements to a task role.
 */
function removeTaskRole(taskDefinition: ecs.TaskDefinition, executionRole: iam.IRole): void {
  const cfn = taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
  cfn.taskRoleArn = undefined;
  if (!taskDefinition.node.tryRemoveChild('TaskRole')) {
    throw new Error('removeTaskRole: aws-cdk-lib no longer creates TaskRole under the task definition; revisit this workaround');
  }
  const noTaskRole = iam.Role.fromRoleArn(taskDefinition, 'NoTaskRole', executionRole.roleArn, { mutable: false });
  Object.defineProperty(taskDefinition, 'taskRole', { value: noTaskRole, writable: false });
}
