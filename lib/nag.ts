/**
 * Every cdk-nag (AwsSolutions) acknowledgement of the app, in one place, each
 * on the narrowest construct and with the reason it is acceptable. A finding
 * that is not listed here fails `test/infra/nag.test.ts` and `cdk synth`.
 *
 * IAM5 findings are acknowledged one by one (cdk-nag 3 ids like
 * `AwsSolutions-IAM5[Resource::<Bucket.Arn>/bundles/*]`); the logical ids in
 * them are computed from the constructs, never typed in.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { K2pWebStack } from './k2p-web-stack';
import type { ServiceFunction } from './service-function';

export interface NagAcknowledgement {
  /** Where it applies (the construct and everything below it). */
  readonly scope: IConstruct;
  /** Rule id, with the finding for multi-finding rules (IAM4, IAM5). */
  readonly id: string;
  readonly reason: string;
}

/** What a function's role may legitimately hold as wildcards, by grant. */
type FunctionWildcard = 'xray' | 'tableIndex' | 'bundles' | 'results';

const REASONS = {
  xray: 'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS documents Resource "*").',
  tableIndex:
    'JobTable grant: the table ARN plus "<table>/index/*" so the byOwner GSI (GET /jobs, reaper sweeps) can be queried; no other table is reachable.',
  bundles:
    'Storage grant of one S3 action on bundles/* only: objects are per job (bundles/<jobId>/bundle.zip) and job ids exist only at run time.',
  results:
    'Storage grant of one S3 action on results/* only: objects are per job (results/<jobId>/result.zip, report.json) and job ids exist only at run time.',
  lambdaBasicRole:
    'CDK-managed custom-resource provider (fixed code, runs only during deployments): its role uses AWSLambdaBasicExecutionRole and cannot be replaced without forking aws-cdk-lib.',
  providerRuntime:
    'CDK-managed custom-resource provider: aws-cdk-lib pins its runtime; it runs only during deployments and handles no user data.',
} as const;

function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

/** cdk-nag's rendering of `Fn::GetAtt [X, Arn]`. */
const arnOf = (construct: IConstruct) => `<${logicalId(construct)}.Arn>`;

function findStackChild(stack: Stack, prefix: string): IConstruct {
  const child = stack.node.children.find((c) => c.node.id.startsWith(prefix));
  if (!child)
    throw new Error(`nag.ts: no construct "${prefix}…" under ${stack.node.path}; aws-cdk-lib renamed a singleton, update lib/nag.ts`);
  return child;
}

/** The list of acknowledgements for a K2pWebStack (exported for the nag test). */
export function nagAcknowledgements(stack: K2pWebStack): NagAcknowledgement[] {
  const acks: NagAcknowledgement[] = [];
  const ack = (scope: IConstruct, id: string, reason: string) => acks.push({ scope, id, reason });
  const { api, storage, jobTable, conversion, validation, reaper, website, network } = stack;
  const bucketArn = arnOf(storage.dataBucket);
  const tableArn = arnOf(jobTable.table);

  const functionRole = (fn: ServiceFunction, wildcards: FunctionWildcard[]) => {
    for (const w of wildcards) {
      const finding = {
        xray: 'Resource::*',
        tableIndex: `Resource::${tableArn}/index/*`,
        bundles: `Resource::${bucketArn}/bundles/*`,
        results: `Resource::${bucketArn}/results/*`,
      }[w];
      ack(fn.role, `AwsSolutions-IAM5[${finding}]`, REASONS[w]);
    }
    ack(
      fn.fn,
      'AwsSolutions-L1',
      'Node.js 22 is the newest runtime the handlers are built (esbuild target node22) and tested for; move with the tests, not ahead of them.',
    );
  };

  // Functions: exactly the wildcards their grants produce.
  functionRole(api.functions.createJob, ['xray', 'tableIndex', 'bundles']);
  functionRole(api.functions.listJobs, ['xray', 'tableIndex']);
  functionRole(api.functions.getJob, ['xray', 'tableIndex']);
  functionRole(api.functions.getResult, ['xray', 'tableIndex', 'results']);
  functionRole(api.functions.deleteJob, ['xray', 'tableIndex', 'bundles', 'results']);
  functionRole(api.functions.health, ['xray']);
  functionRole(validation.function, ['xray', 'tableIndex', 'bundles']);
  functionRole(conversion.prepareRun, ['xray', 'tableIndex', 'bundles', 'results']);
  functionRole(conversion.recordOutcome, ['xray', 'tableIndex', 'bundles', 'results']);
  functionRole(reaper.function, ['xray', 'tableIndex', 'bundles', 'results']);
  ack(
    reaper.function.role,
    // grantExecution derives the state machine's name from its ARN with Fn::Select/Fn::Split.
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(conversion.stateMachine)}"}]}]}:*]`,
    'states:DescribeExecution on executions of the conversion state machine only; execution names are job ids, known only at run time.',
  );

  // State machine role: what CloudFormation/Step Functions integrations require.
  const smRole = conversion.stateMachine.role;
  ack(
    smRole,
    'AwsSolutions-IAM5[Resource::*]',
    'Step Functions service integration requirements: CloudWatch Logs delivery (logs:*LogDelivery, PutResourcePolicy, Describe*), X-Ray tracing, and ecs:StopTask/DescribeTasks of the .sync pattern have no resource-level permissions.',
  );
  for (const fn of [conversion.prepareRun, conversion.recordOutcome]) {
    ack(
      smRole,
      `AwsSolutions-IAM5[Resource::${arnOf(fn.fn)}:*]`,
      'LambdaInvoke grant: the function and its versions/aliases (":*"), nothing else.',
    );
  }

  // Fargate task: execution role (the task itself has no role at all).
  ack(
    conversion.executionRole,
    'AwsSolutions-IAM5[Resource::*]',
    'ecr:GetAuthorizationToken has no resource-level permissions; every other ECR action is on the runner repository only.',
  );
  ack(
    conversion.taskDefinition,
    'AwsSolutions-ECS2',
    'The container environment holds only non-secret configuration (limits, image reference, scratch path); per-job values come as container overrides and there are no secrets.',
  );

  // API: API keys are the product's authentication model (ARCHITECTURE.md); /health is public on purpose.
  const apiKeyReason =
    'Clients authenticate with API keys (x-api-key, required on every method but GET /health, which is public by design); jobs are owned by the key id. There are no user accounts to put in Cognito or IAM.';
  ack(api.api, 'AwsSolutions-APIG4', apiKeyReason);
  ack(api.api, 'AwsSolutions-COG4', apiKeyReason);
  if (!api.webAcl) {
    ack(
      api.api.deploymentStage,
      'AwsSolutions-APIG3',
      'WAF is opt-in (context wafRateLimit > 0 adds a per-IP rate rule): usage-plan throttles and quotas plus stage throttling already bound abuse, and a WebACL costs ≥ $5/month idle.',
    );
  }
  ack(
    api.api.node.findChild('CloudWatchRole'),
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'The account-level role API Gateway needs to write execution logs; AWS designs it around this managed policy.',
  );

  // Website.
  const distribution = website.distribution;
  ack(distribution, 'AwsSolutions-CFR1', 'The page is for anyone who converts KNIME workflows, worldwide: no country is to be blocked.');
  ack(
    distribution,
    'AwsSolutions-CFR2',
    'A static page (no server-side logic) from a private bucket; a CloudFront WebACL must live in us-east-1, which a region-agnostic stack cannot create. The API has its own optional WAF.',
  );
  ack(
    distribution,
    'AwsSolutions-CFR4',
    'Served on the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; a custom domain with an ACM certificate (TLSv1.2_2021) is an operator choice outside this template.',
  );

  // The validator's failure destination is itself the dead-letter queue.
  ack(
    validation.failureQueue,
    'AwsSolutions-SQS3',
    'This queue is the on-failure destination (the DLQ) of the upload validator; nothing consumes it automatically and an alarm fires when it is not empty.',
  );

  // CDK-managed singletons (custom-resource providers).
  ack(
    findStackChild(stack, 'BucketNotificationsHandler'),
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    REASONS.lambdaBasicRole,
  );
  const awsCustomResourceProvider = findStackChild(stack, 'AWS679f53fac002430cb0da5b7982bd2287');
  ack(
    awsCustomResourceProvider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    REASONS.lambdaBasicRole,
  );
  ack(awsCustomResourceProvider, 'AwsSolutions-L1', REASONS.providerRuntime);
  ack(
    network.node.findChild('S3PrefixListLookup'),
    'AwsSolutions-IAM5[Resource::*]',
    'ec2:DescribePrefixLists (read-only, to find the regional S3 prefix list for the task security group) supports no resource-level permissions.',
  );

  const deployment = findStackChild(stack, 'Custom::CDKBucketDeployment');
  ack(
    deployment,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    REASONS.lambdaBasicRole,
  );
  ack(deployment, 'AwsSolutions-L1', REASONS.providerRuntime);
  const deploymentReason =
    'BucketDeployment (CDK-managed) copies the built page from the CDK asset bucket into the site bucket and invalidates CloudFront: its grants are bucket-wide read on the asset bucket and read/write/delete on the site bucket only.';
  for (const finding of [
    'Action::s3:GetObject*',
    'Action::s3:GetBucket*',
    'Action::s3:List*',
    'Action::s3:DeleteObject*',
    'Action::s3:Abort*',
    `Resource::${arnOf(website.bucket)}/*`,
    'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
  ]) {
    ack(deployment, `AwsSolutions-IAM5[${finding}]`, deploymentReason);
  }
  ack(
    deployment,
    'AwsSolutions-IAM5[Resource::*]',
    'BucketDeployment (CDK-managed) invalidates the site distribution after a deploy; aws-cdk-lib grants cloudfront:CreateInvalidation/GetInvalidation on "*".',
  );
  return acks;
}

/** Records every acknowledgement on its construct (read by cdk-nag through CDK's Validations metadata). */
export function acknowledgeNagFindings(stack: K2pWebStack): void {
  for (const a of nagAcknowledgements(stack)) Validations.of(a.scope).acknowledge({ id: a.id, reason: a.reason });
}
