/**
 * Shared fixtures of the infrastructure tests: construct tests use inline
 * handler code and a registry image, so they need neither bundling nor Docker.
 * CloudFormation validation is off here (CDK_VALIDATION=false); nag.test.ts
 * keeps it on for the one full synthesis.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { HANDLERS, type HandlerName } from '../../core/service-env';
import { type K2pWebConfig, resolveConfig } from '../../lib/config';
import { K2pWebStack } from '../../lib/k2p-web-stack';
import type { FunctionDefaults, HandlerCodeOverrides } from '../../lib/service-function';

export function disableCfnValidation(): void {
  process.env.CDK_VALIDATION = 'false';
}
disableCfnValidation();

/** A stand-in handler for construct tests only (the real ones are bundled in nag.test.ts). */
export const inlineCode = lambda.Code.fromInline('export const handler = async () => ({ statusCode: 200, body: "{}" });');

export const inlineHandlers: HandlerCodeOverrides = Object.fromEntries(
  (Object.keys(HANDLERS) as HandlerName[]).map((name) => [name, inlineCode]),
);

export const functionDefaults: FunctionDefaults = {
  environment: { SHARED_ENV: 'shared' },
  logRetentionDays: 30,
  handlerCode: inlineHandlers,
};

/** A public image instead of the Docker-built runner (no Docker engine here). */
export const registryRunnerImage = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:1.36');

export function newStack(id = 'Test'): Stack {
  return new Stack(new App(), id);
}

/** The whole stack with stand-ins for the handlers, the runner image and the built page. */
export function fullStack(
  config: Record<string, unknown> = {},
  id = 'K2pWeb',
): { stack: K2pWebStack; template: Template; config: K2pWebConfig } {
  const resolved = resolveConfig(config);
  const stack = new K2pWebStack(new App(), id, {
    config: resolved,
    handlerCode: inlineHandlers,
    runnerImage: registryRunnerImage,
    siteSource: s3deploy.Source.data('index.html', '<!doctype html><title>k2p-web</title>'),
    serviceVersion: '9.9.9-test',
  });
  return { stack, template: Template.fromStack(stack), config: resolved };
}

type Json = unknown;

/** Template JSON is untyped by nature; tests navigate it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

/** Resolves Fn::Join/Ref/GetAtt in a value to readable placeholders, e.g. a state machine definition. */
export function flatten(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, Json>;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map(flatten).join(sep);
    }
    if ('Ref' in v) return `\${${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  }
  return JSON.stringify(value);
}

/** The state machine's ASL as an object (intrinsics replaced by placeholders). */
export function stateMachineDefinition(template: Template): {
  StartAt: string;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
  States: Record<string, Record<string, Loose>>;
} {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return JSON.parse(flatten(machines[0]!.Properties.DefinitionString));
}

/** Resources of a type as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties: Record<string, Loose> }][] {
  return Object.entries(template.findResources(type)) as [string, { Properties: Record<string, Loose> }][];
}

/** Every policy statement attached (through AWS::IAM::Policy) to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): Record<string, Loose>[] {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId })))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Loose>[]);
}

export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
}
