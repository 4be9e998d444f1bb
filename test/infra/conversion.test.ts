import { describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_SERVICE_LIMITS, resolveBundleLimits, resolveServiceLimits } from '../../core/limits';
import { RUNNER_ENV, RUNNER_SCRATCH_DIR } from '../../core/service-env';
import { RUN_DEADLINE_MARGIN_SECONDS } from '../../lambdas/decisions/deadlines';
import { Conversion, LAUNCH_ERRORS, RUNNER_USER } from '../../lib/conversion';
import { JobTable } from '../../lib/job-table';
import { IsolatedNetwork } from '../../lib/network';
import { Storage } from '../../lib/storage';
import {
  flatten,
  functionDefaults,
  logicalIdOf,
  newStack,
  registryRunnerImage,
  resourcesOf,
  stateMachineDefinition,
  statementsOfRole,
} from './fixtures';

function build(overrides: Partial<ConstructorParameters<typeof Conversion>[2]> = {}) {
  const stack = newStack('Conv');
  const storage = new Storage(stack, 'Storage', { corsOrigins: ['https://site.example'] });
  const jobTable = new JobTable(stack, 'JobTable');
  const network = new IsolatedNetwork(stack, 'Network', { dataBucket: storage.dataBucket });
  const conversion = new Conversion(stack, 'Conversion', {
    network,
    storage,
    jobTable,
    functions: functionDefaults,
    bundleLimits: resolveBundleLimits(),
    serviceLimits: resolveServiceLimits(),
    converterImage: 'ghcr.io/vitalii-kaplan/knime2py@sha256:' + 'a'.repeat(64),
    converterVersion: '0.1.11',
    containerImage: registryRunnerImage,
    ...overrides,
  });
  return { stack, conversion, network, storage, jobTable, template: Template.fromStack(stack) };
}

describe('Conversion: the Fargate task', () => {
  const { stack, conversion, template } = build();
  const taskDef = template.toJSON().Resources[logicalIdOf(stack, conversion.taskDefinition)].Properties;
  const container = taskDef.ContainerDefinitions[0];

  it('runs the runner with a read-only root filesystem as numeric non-root user 10001', () => {
    expect(taskDef.ContainerDefinitions).toHaveLength(1);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.User).toBe(RUNNER_USER);
    expect(container.User).toBe('10001');
    expect(container.Privileged).toBe(false);
  });

  it('drops every Linux capability and runs an init process', () => {
    expect(container.LinuxParameters).toEqual({ Capabilities: { Drop: ['ALL'] }, InitProcessEnabled: true });
  });

  it('mounts the scratch bind volume writable at /scratch and nothing else', () => {
    expect(taskDef.Volumes).toEqual([{ Name: 'scratch' }]);
    expect(container.MountPoints).toEqual([{ ContainerPath: RUNNER_SCRATCH_DIR, SourceVolume: 'scratch', ReadOnly: false }]);
  });

  it('has no task role: the runner gets no AWS credentials', () => {
    expect(taskDef.TaskRoleArn).toBeUndefined();
    expect(taskDef.ExecutionRoleArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack, conversion.executionRole), 'Arn'] });
    const ecsRoles = resourcesOf(template, 'AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('ecs-tasks.amazonaws.com'),
    );
    expect(ecsRoles.map(([id]) => id)).toEqual([logicalIdOf(stack, conversion.executionRole)]);
    // Anything granting through taskRole would silently reach nobody, never the execution role.
    expect(conversion.taskDefinition.taskRole.roleArn).toBe(conversion.executionRole.roleArn);
  });

  it('lets the execution role only write the task logs (and pull the image)', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, conversion.executionRole));
    expect(statements).toEqual([
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, conversion.taskLogGroup), 'Arn'] },
      }),
    ]);
  });

  it('is a Fargate task of the configured size on ARM64, logging with retention', () => {
    expect(taskDef).toMatchObject({ Cpu: '512', Memory: '1024', NetworkMode: 'awsvpc', RequiresCompatibilities: ['FARGATE'] });
    expect(taskDef.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    expect(container.LogConfiguration.Options['awslogs-group']).toEqual({ Ref: logicalIdOf(stack, conversion.taskLogGroup) });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('passes the limits and the converter image as static environment', () => {
    const env = Object.fromEntries((container.Environment as { Name: string; Value: string }[]).map((e) => [e.Name, e.Value]));
    expect(env.LIMIT_CONVERTER_TIMEOUT_SECONDS).toBe(String(DEFAULT_SERVICE_LIMITS.converterTimeoutSeconds));
    expect(env.LIMIT_MAX_UPLOAD_BYTES).toBe(String(50 * 1024 * 1024));
    expect(env[RUNNER_ENV.CONVERTER_IMAGE]).toMatch(/@sha256:a{64}$/);
    expect(env[RUNNER_ENV.SCRATCH_DIR]).toBe(RUNNER_SCRATCH_DIR);
    expect(Object.keys(env)).not.toContain(RUNNER_ENV.INPUT_URL);
  });

  it('takes CPU, memory and architecture from its props', () => {
    const b = build({ taskCpu: 1024, taskMemoryMiB: 2048, architecture: 'X86_64' });
    const td = b.template.toJSON().Resources[logicalIdOf(b.stack, b.conversion.taskDefinition)].Properties;
    expect(td).toMatchObject({ Cpu: '1024', Memory: '2048', RuntimePlatform: { CpuArchitecture: 'X86_64' } });
  });

  it('enables Container Insights on the cluster (task CPU/memory on the dashboard)', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });
});

describe('Conversion: the state machine', () => {
  const { stack, conversion, network, template } = build();
  const definition = stateMachineDefinition(template);
  const states = definition.States;

  it('is a Standard, JSONPath state machine with tracing and ALL-level logs to /aws/vendedlogs/states/k2p-web-*', () => {
    const [, sm] = resourcesOf(template, 'AWS::StepFunctions::StateMachine')[0]!;
    expect(sm!.Properties.StateMachineType).toBe('STANDARD');
    expect(sm!.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm!.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(definition.QueryLanguage).toBe('JSONPath');
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/k2p-web-Conv' });
    expect(JSON.stringify(definition)).not.toMatch(/JSONata|\{%/);
  });

  it('runs PrepareRun → SkipRun → RunConverter → ConverterFinished → RecordOutcome → Done', () => {
    expect(definition.StartAt).toBe('PrepareRun');
    expect(Object.keys(states).sort()).toEqual(
      ['ConverterFinished', 'Done', 'PrepareRun', 'RecordOutcome', 'RunConverter', 'SkipRun', 'Skipped'].sort(),
    );
    expect(states.PrepareRun).toMatchObject({ Type: 'Task', ResultPath: '$.run', Next: 'SkipRun', Parameters: { 'jobId.$': '$.jobId' } });
    expect(states.PrepareRun!.Resource).toBe(`\${${logicalIdOf(stack, conversion.prepareRun.fn)}.Arn}`);
    expect(states.SkipRun).toMatchObject({
      Type: 'Choice',
      Default: 'RunConverter',
      Choices: [
        {
          And: [
            { Variable: '$.run.skip', IsPresent: true },
            { Variable: '$.run.skip', BooleanEquals: true },
          ],
          Next: 'Skipped',
        },
      ],
    });
    expect(states.Skipped).toEqual({ Type: 'Succeed' });
    expect(states.RunConverter).toMatchObject({ Next: 'ConverterFinished', ResultPath: null });
    expect(states.ConverterFinished).toMatchObject({ Type: 'Pass', Result: {}, ResultPath: '$.taskError', Next: 'RecordOutcome' });
    expect(states.RecordOutcome).toMatchObject({
      Type: 'Task',
      Next: 'Done',
      ResultPath: null,
      Parameters: { 'jobId.$': '$.jobId', 'taskError.$': '$.taskError' },
    });
    expect(states.RecordOutcome!.Resource).toBe(`\${${logicalIdOf(stack, conversion.recordOutcome.fn)}.Arn}`);
    expect(states.Done).toEqual({ Type: 'Succeed' });
  });

  it('catches every error of PrepareRun and RunConverter into RecordOutcome with $.taskError', () => {
    for (const name of ['PrepareRun', 'RunConverter']) {
      expect(states[name]!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.taskError', Next: 'RecordOutcome' }]);
    }
  });

  it('retries Lambda service errors of the Lambda steps, and RecordOutcome failures too', () => {
    for (const name of ['PrepareRun', 'RecordOutcome']) {
      expect(states[name]!.Retry[0].ErrorEquals).toEqual(
        expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException']),
      );
    }
    expect(states.RecordOutcome!.Retry[1]).toMatchObject({ ErrorEquals: ['States.TaskFailed', 'States.Timeout'], MaxAttempts: 4 });
  });

  it('runs the task with ecs:runTask.sync on Fargate in the isolated subnets with the locked-down group and no public IP', () => {
    const run = states.RunConverter!;
    expect(run.Resource).toBe('arn:${AWS::Partition}:states:::ecs:runTask.sync');
    const subnets = network.vpc.isolatedSubnets.map((s) => `\${${logicalIdOf(stack, s)}}`);
    expect(run.Parameters).toMatchObject({
      LaunchType: 'FARGATE',
      PlatformVersion: '1.4.0',
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          Subnets: subnets,
          SecurityGroups: [`\${${logicalIdOf(stack, network.taskSecurityGroup)}.GroupId}`],
        },
      },
    });
    expect(run.Parameters.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp ?? 'DISABLED').toBe('DISABLED');
    expect(run.Parameters.TaskDefinition).toMatch(/ConvConversionTaskDefinition/);
  });

  it('hands the runner its job through container overrides from $.run', () => {
    const overrides = states.RunConverter!.Parameters.Overrides.ContainerOverrides;
    expect(overrides).toHaveLength(1);
    expect(overrides[0].Name).toBe('Runner');
    expect(overrides[0].Environment).toEqual([
      { Name: 'JOB_ID', 'Value.$': '$.jobId' },
      { Name: 'INPUT_URL', 'Value.$': '$.run.inputUrl' },
      { Name: 'INPUT_SHA256', 'Value.$': '$.run.inputSha256' },
      { Name: 'RESULT_URL', 'Value.$': '$.run.resultUrl' },
      { Name: 'REPORT_URL', 'Value.$': '$.run.reportUrl' },
      { Name: 'WORKFLOW_NAME', 'Value.$': '$.run.workflowName' },
      { Name: 'K2P_WORKBOOK', 'Value.$': '$.run.workbook' },
      { Name: 'K2P_GRAPH', 'Value.$': '$.run.graph' },
      { Name: 'LOG_URL', 'Value.$': '$.run.logUrl' },
    ]);
  });

  it('times the task out at the converter limit plus the start margin', () => {
    expect(states.RunConverter!.TimeoutSeconds).toBe(DEFAULT_SERVICE_LIMITS.converterTimeoutSeconds + 240);
    const b = build({ serviceLimits: resolveServiceLimits({ converterTimeoutSeconds: 600 }), taskStartMarginSeconds: 120 });
    expect(stateMachineDefinition(b.template).States.RunConverter!.TimeoutSeconds).toBe(720);
    // The whole execution is bounded too: room for every retry path, yet it ends before the
    // reaper's run deadline (converter limit + 30 min after RUNNING, lambdas/decisions/deadlines.ts).
    expect(definition.TimeoutSeconds).toBe(states.RunConverter!.TimeoutSeconds + 15 * 60);
    expect(definition.TimeoutSeconds).toBeLessThanOrEqual(DEFAULT_SERVICE_LIMITS.converterTimeoutSeconds + RUN_DEADLINE_MARGIN_SECONDS);
    expect(() => build({ taskStartMarginSeconds: 901 })).toThrow(/taskStartMarginSeconds/);
  });

  it('retries only launch and capacity errors of RunTask, with backoff', () => {
    expect(states.RunConverter!.Retry).toEqual([
      { ErrorEquals: LAUNCH_ERRORS, IntervalSeconds: 10, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL' },
    ]);
    expect(LAUNCH_ERRORS).toEqual(['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException']);
    expect(JSON.stringify(states.RunConverter!.Retry)).not.toMatch(/States\.(ALL|TaskFailed|Timeout)/);
  });

  it('may run this task definition and pass the execution role — and no other role', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, conversion.stateMachine.role));
    const runTask = statements.filter((s) => JSON.stringify(s.Action).includes('ecs:RunTask'));
    expect(runTask).toEqual([
      expect.objectContaining({ Action: 'ecs:RunTask', Resource: { Ref: logicalIdOf(stack, conversion.taskDefinition) } }),
    ]);
    const passRole = statements.filter((s) => JSON.stringify(s.Action).includes('iam:PassRole'));
    expect(passRole).toEqual([
      expect.objectContaining({
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, conversion.executionRole), 'Arn'] },
      }),
    ]);
    const invoke = statements
      .filter((s) => s.Action === 'lambda:InvokeFunction')
      .flatMap((s) => s.Resource)
      .map(flatten);
    expect(invoke.sort()).toEqual(
      [
        `\${${logicalIdOf(stack, conversion.prepareRun.fn)}.Arn}`,
        `\${${logicalIdOf(stack, conversion.prepareRun.fn)}.Arn}:*`,
        `\${${logicalIdOf(stack, conversion.recordOutcome.fn)}.Arn}`,
        `\${${logicalIdOf(stack, conversion.recordOutcome.fn)}.Arn}:*`,
      ].sort(),
    );
  });

  it('lets prepare-run presign only GET of bundles and PUT of results, and record-outcome read results', () => {
    const s3Actions = (fn: typeof conversion.prepareRun) =>
      statementsOfRole(template, logicalIdOf(stack, fn.role))
        .filter((s) => String(s.Action).startsWith('s3:'))
        .map((s) => `${s.Action} ${flatten(s.Resource).replace(/^\$\{[^}]+\}/, '<bucket>')}`)
        .sort();
    expect(s3Actions(conversion.prepareRun)).toEqual(['s3:GetObject <bucket>/bundles/*', 's3:PutObject <bucket>/results/*']);
    expect(s3Actions(conversion.recordOutcome)).toEqual([
      's3:DeleteObject <bucket>/bundles/*',
      's3:DeleteObject <bucket>/results/*',
      's3:GetObject <bucket>/results/*',
      's3:ListBucket <bucket>',
    ]);
  });
});
