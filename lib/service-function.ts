/**
 * One Lambda function of the service with the project's defaults: the
 * service's Node.js major (core/runtime-contract.ts) on ARM, ESM bundle built
 * by the local esbuild (AWS SDK bundled, minified, no source maps), JSON logs
 * into its own log group with retention, X-Ray tracing, and an own role that
 * may write only to that log group.
 */
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLERS, type HandlerName } from '../core/service-env';
import {
  ESBUILD_TARGET,
  ESM_REQUIRE_BANNER,
  LAMBDA_ARCHITECTURE,
  LAMBDA_RUNTIME,
  LOG_REMOVAL_POLICY,
  REPO_ROOT,
  logRetention,
} from './defaults';
import { acknowledge } from './nag';

/** Code to deploy instead of bundling a handler's entry file, by handler name. */
export type HandlerCodeOverrides = Partial<Record<HandlerName, lambda.Code>>;

/** What every construct that creates functions receives from the stack. */
export interface FunctionDefaults {
  /** Environment shared by every function (table, bucket, limits, Powertools, versions). */
  readonly environment: Readonly<Record<string, string>>;
  /** Retention of each function's log group, days (a CloudWatch-supported value). */
  readonly logRetentionDays: number;
  /**
   * Prebuilt code per handler, used instead of bundling its entry file.
   * @default - every handler is bundled from its entry in core/service-env.ts HANDLERS
   */
  readonly handlerCode?: HandlerCodeOverrides;
}

export interface ServiceFunctionProps {
  /** Which handler this function runs (its entry file comes from HANDLERS). */
  readonly handler: HandlerName;
  /** Shared environment, retention and code overrides. */
  readonly defaults: FunctionDefaults;
  /** One line for the console. */
  readonly description: string;
  /**
   * Environment added to the shared one.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Memory, MiB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Function timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Reserved concurrency: an upper bound and a guaranteed share.
   * @default - unreserved (bounded by API throttling or the state machine)
   */
  readonly reservedConcurrentExecutions?: number;
}

export class ServiceFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 256;
    if (memorySize < 128 || memorySize > 10240) {
      throw new Error(`ServiceFunction ${this.node.path}: memorySize must be 128–10240 MiB, got ${memorySize}`);
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logRetention(props.defaults.logRetentionDays),
      removalPolicy: LOG_REMOVAL_POLICY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole, whose logs:* on "*" is wider than needed.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handler}: writes its own log group; other rights come from grants`,
    });
    this.logGroup.grantWrite(this.role);

    const common = {
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: LAMBDA_ARCHITECTURE,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...props.defaults.environment,
        ...props.environment,
      },
    } satisfies Partial<lambda.FunctionProps>;

    const override = props.defaults.handlerCode?.[props.handler];
    this.fn = override
      ? new lambda.Function(this, 'Function', { ...common, code: override, handler: 'index.handler' })
      : new NodejsFunction(this, 'Function', {
          ...common,
          entry: path.join(REPO_ROOT, HANDLERS[props.handler]),
          handler: 'handler',
          projectRoot: REPO_ROOT,
          depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
          bundling: {
            format: OutputFormat.ESM,
            target: ESBUILD_TARGET,
            minify: true,
            sourceMap: false,
            bundleAwsSDK: true,
            mainFields: ['module', 'main'],
            banner: ESM_REQUIRE_BANNER,
            forceDockerBundling: false,
            tsconfig: path.join(REPO_ROOT, 'tsconfig.json'),
          },
        });

    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS documents Resource "*").',
    );
  }
}
