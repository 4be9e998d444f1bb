/**
 * The converter's network: a VPC with only isolated subnets (no NAT, no
 * internet gateway), the S3 gateway endpoint and the ecr.api, ecr.dkr and
 * logs interface endpoints a Fargate task needs to start and log, and the
 * task's security group whose only egress is HTTPS to those endpoints.
 */
import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { LOG_REMOVAL_POLICY, logRetention } from './defaults';
import { acknowledge, acknowledgeAwsCustomResourceProvider } from './nag';

export interface IsolatedNetworkProps {
  /** The data bucket: the only bucket (besides ECR's layer bucket) reachable through the S3 endpoint. */
  readonly dataBucket: s3.IBucket;
  /**
   * Availability zones (1 or 2). Each AZ adds one ENI per interface endpoint (≈ $22/month).
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * Retention of the VPC flow log and the lookup function's logs, days.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * IPv4 range of the VPC.
   * @default 10.20.0.0/16
   */
  readonly cidr?: string;
}

export class IsolatedNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Subnets the converter tasks run in (PRIVATE_ISOLATED only). */
  readonly taskSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  /** The task's group: no ingress, egress only TCP 443 to the endpoints and the S3 prefix list. */
  readonly taskSecurityGroup: ec2.SecurityGroup;
  /** The interface endpoints' group: ingress only TCP 443 from the task group. */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly interfaceEndpoints: Readonly<Record<'ecrApi' | 'ecrDocker' | 'logs', ec2.InterfaceVpcEndpoint>>;
  /** Id of the region's S3 prefix list (com.amazonaws.<region>.s3), resolved at deploy time. */
  readonly s3PrefixListId: string;

  constructor(scope: Construct, id: string, props: IsolatedNetworkProps) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    if (!Number.isInteger(maxAzs) || maxAzs < 1 || maxAzs > 2) {
      throw new Error(`IsolatedNetwork: maxAzs must be 1 or 2 in an environment-agnostic stack, got ${maxAzs}`);
    }
    const retention = logRetention(props.logRetentionDays ?? 30);

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy: LOG_REMOVAL_POLICY });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.20.0.0/16'),
      maxAzs,
      natGateways: 0,
      createInternetGateway: false,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });

    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'k2p-web converter task: no ingress; egress HTTPS to the VPC endpoints and S3 only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'k2p-web interface endpoints: HTTPS from the converter task only',
      allowAllOutbound: false,
    });
    this.taskSecurityGroup.connections.allowTo(this.endpointSecurityGroup, ec2.Port.tcp(443), 'HTTPS to the ECR and Logs endpoints');

    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.taskSubnets],
    });
    // Only the data bucket (presigned URLs) and ECR's image-layer bucket: nothing else to exfiltrate to.
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DataBucketObjects',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.dataBucket.arnForObjects('*')],
      }),
    );
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::prod-${Aws.REGION}-starport-layer-bucket/*`],
      }),
    );

    const ecrPull = ['ecr:GetAuthorizationToken', 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'];
    this.interfaceEndpoints = {
      ecrApi: this.interfaceEndpoint('EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR, ecrPull),
      ecrDocker: this.interfaceEndpoint('EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER, ecrPull),
      logs: this.interfaceEndpoint('LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]),
    };

    this.s3PrefixListId = this.lookUpS3PrefixList(retention);
    this.taskSecurityGroup.addEgressRule(
      ec2.Peer.prefixList(this.s3PrefixListId),
      ec2.Port.tcp(443),
      'HTTPS to S3 through the gateway endpoint (presigned URLs, ECR layers)',
    );
  }

  /** An interface endpoint reachable only from the task group, usable only by this account's principals. */
  private interfaceEndpoint(id: string, service: ec2.InterfaceVpcEndpointAwsService, actions: string[]): ec2.InterfaceVpcEndpoint {
    const endpoint = this.vpc.addInterfaceEndpoint(id, {
      service,
      subnets: this.taskSubnets,
      securityGroups: [this.endpointSecurityGroup],
      open: false,
      privateDnsEnabled: true,
    });
    // Credentials of another account could otherwise use the endpoint to carry data out.
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions,
        resources: ['*'],
        conditions: { StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
      }),
    );
    return endpoint;
  }

  /** CloudFormation exposes no prefix-list id for S3, and the stack is region-agnostic: ask EC2 at deploy time. */
  private lookUpS3PrefixList(retention: logs.RetentionDays): string {
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'describePrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${Aws.REGION}.s3`] }] },
      physicalResourceId: cr.PhysicalResourceId.of(`s3-prefix-list-${Aws.REGION}`),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const lookup = new cr.AwsCustomResource(this, 'S3PrefixListLookup', {
      onCreate: call,
      onUpdate: call,
      // ec2:DescribePrefixLists supports no resource-level permissions.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'S3PrefixListLookupLogs', { retention, removalPolicy: LOG_REMOVAL_POLICY }),
    });
    acknowledge(
      lookup,
      'AwsSolutions-IAM5[Resource::*]',
      'ec2:DescribePrefixLists (read-only, to find the regional S3 prefix list for the task security group) supports no resource-level permissions.',
    );
    acknowledgeAwsCustomResourceProvider(this);
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }
}
