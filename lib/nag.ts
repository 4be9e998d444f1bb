/**
 * cdk-nag (AwsSolutions) acknowledgements: each construct acknowledges, on
 * the narrowest construct and with the reason it is acceptable, exactly the
 * findings it causes (a grant acknowledges the wildcard it adds to the
 * grantee's role). A finding nobody acknowledges fails `test/infra/nag.test.ts`
 * and `cdk synth`. This module holds only the mechanics shared by the
 * constructs, so it imports none of them.
 *
 * IAM5 findings are acknowledged one by one (cdk-nag 3 ids like
 * `AwsSolutions-IAM5[Resource::<Bucket.Arn>/bundles/*]`); the logical ids in
 * them are computed from the constructs, never typed in.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

export interface NagAcknowledgement {
  /** Where it applies (the construct and everything below it). */
  readonly scope: IConstruct;
  /** Rule id, with the finding for multi-finding rules (IAM4, IAM5). */
  readonly id: string;
  readonly reason: string;
}

/** Reasons shared by every construct that brings in a CDK-managed provider function. */
export const CDK_PROVIDER_REASONS = {
  lambdaBasicRole:
    'CDK-managed custom-resource provider (fixed code, runs only during deployments): its role uses AWSLambdaBasicExecutionRole and cannot be replaced without forking aws-cdk-lib.',
  providerRuntime:
    'CDK-managed custom-resource provider: aws-cdk-lib pins its runtime; it runs only during deployments and handles no user data.',
} as const;

export const LAMBDA_BASIC_ROLE_FINDING =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

/** Acknowledgements by construct: two grants that cause the same finding acknowledge it once. */
const recorded = new WeakMap<IConstruct, Map<string, string>>();

/** Acknowledges finding `id` on `scope` (and below); repeating the same acknowledgement is a no-op. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  const acks = recorded.get(scope) ?? new Map<string, string>();
  recorded.set(scope, acks);
  const earlier = acks.get(id);
  if (earlier === reason) return;
  if (earlier !== undefined) throw new Error(`nag: ${id} on ${scope.node.path} is acknowledged twice with different reasons`);
  acks.set(id, reason);
  Validations.of(scope).acknowledge({ id, reason });
}

/** Acknowledges a finding a grant causes on the grantee's role (principals that are not constructs carry no findings). */
export function acknowledgeOnGrantee(grantee: iam.IGrantable, id: string, reason: string): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) acknowledge(principal, id, reason);
}

/** Every acknowledgement recorded on `root` and the constructs below it (the nag test checks their reasons). */
export function nagAcknowledgements(root: IConstruct): NagAcknowledgement[] {
  return root.node.findAll().flatMap((scope) => [...(recorded.get(scope) ?? [])].map(([id, reason]) => ({ scope, id, reason })));
}

export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

/** cdk-nag's rendering of `Fn::GetAtt [X, Arn]`. */
export const arnOf = (construct: IConstruct) => `<${logicalId(construct)}.Arn>`;

/** A stack-level singleton aws-cdk-lib creates (custom-resource providers), found by its id prefix. */
export function findStackChild(scope: IConstruct, prefix: string): IConstruct {
  const stack = Stack.of(scope);
  const child = stack.node.children.find((c) => c.node.id.startsWith(prefix));
  if (!child)
    throw new Error(`nag.ts: no construct "${prefix}…" under ${stack.node.path}; aws-cdk-lib renamed a singleton, update lib/nag.ts`);
  return child;
}

/** The provider function behind every AwsCustomResource of the stack (one singleton, however many use it). */
export function acknowledgeAwsCustomResourceProvider(scope: IConstruct): void {
  const provider = findStackChild(scope, 'AWS679f53fac002430cb0da5b7982bd2287');
  acknowledge(provider, LAMBDA_BASIC_ROLE_FINDING, CDK_PROVIDER_REASONS.lambdaBasicRole);
  acknowledge(provider, 'AwsSolutions-L1', CDK_PROVIDER_REASONS.providerRuntime);
}

/** The IAM5 finding of `stateMachine.grantExecution` (it derives the state machine's name from its ARN with Fn::Select/Fn::Split). */
export function executionsWildcardFinding(stateMachine: IConstruct): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(stateMachine)}"}]}]}:*]`;
}
