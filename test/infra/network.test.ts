import { describe, expect, it } from 'vitest';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IsolatedNetwork } from '../../lib/network';
import { flatten, logicalIdOf, newStack, resourcesOf } from './fixtures';

function build(maxAzs?: number) {
  const stack = newStack();
  const bucket = new s3.Bucket(stack, 'Data');
  const network = new IsolatedNetwork(stack, 'Network', { dataBucket: bucket, maxAzs });
  return { stack, network, bucket, template: Template.fromStack(stack) };
}

describe('IsolatedNetwork', () => {
  it('has only isolated subnets: no NAT, no internet gateway, no public IPs, no default route', () => {
    const { template } = build();
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    for (const [, subnet] of resourcesOf(template, 'AWS::EC2::Subnet')) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(JSON.stringify(subnet.Properties.Tags)).toContain('"Isolated"');
    }
    // No route at all except those the S3 gateway endpoint adds itself (no 0.0.0.0/0 to anything).
    template.resourceCountIs('AWS::EC2::Route', 0);
  });

  it('spans the configured number of AZs (1 halves the endpoint cost)', () => {
    build(1).template.resourceCountIs('AWS::EC2::Subnet', 1);
    expect(() => build(3)).toThrow(/maxAzs must be 1 or 2/);
  });

  it('has the S3 gateway endpoint and the ecr.api, ecr.dkr and logs interface endpoints, nothing else', () => {
    const { template, network, stack } = build();
    const endpoints = resourcesOf(template, 'AWS::EC2::VPCEndpoint').map(([, e]) => e.Properties);
    expect(endpoints).toHaveLength(4);
    const services = endpoints.map((e) => flatten(e.ServiceName)).sort();
    expect(services).toEqual([
      'com.amazonaws.${AWS::Region}.ecr.api',
      'com.amazonaws.${AWS::Region}.ecr.dkr',
      'com.amazonaws.${AWS::Region}.logs',
      'com.amazonaws.${AWS::Region}.s3',
    ]);
    const gateway = endpoints.find((e) => e.VpcEndpointType === 'Gateway')!;
    expect(gateway.RouteTableIds).toHaveLength(2);
    const endpointSg = logicalIdOf(stack, network.endpointSecurityGroup);
    for (const e of endpoints.filter((x) => x.VpcEndpointType === 'Interface')) {
      expect(e.PrivateDnsEnabled).toBe(true);
      expect(e.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [endpointSg, 'GroupId'] }]);
      expect(e.SubnetIds).toHaveLength(2);
    }
  });

  it('lets the task security group send only HTTPS to the endpoints and to the S3 prefix list', () => {
    const { template, network, stack } = build();
    const taskSg = logicalIdOf(stack, network.taskSecurityGroup);
    const endpointSg = logicalIdOf(stack, network.endpointSecurityGroup);
    const taskGroup = template.toJSON().Resources[taskSg].Properties;
    expect(taskGroup.SecurityGroupIngress).toBeUndefined();
    // Inline egress would be CDK's allow-all default; the rules are separate resources instead.
    expect(taskGroup.SecurityGroupEgress).toBeUndefined();

    const egress = resourcesOf(template, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties);
    expect(egress).toHaveLength(2);
    for (const rule of egress) {
      expect(rule.GroupId).toEqual({ 'Fn::GetAtt': [taskSg, 'GroupId'] });
      expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
      expect(rule.CidrIp).toBeUndefined();
      expect(rule.CidrIpv6).toBeUndefined();
    }
    expect(egress.map((r) => r.DestinationSecurityGroupId).filter(Boolean)).toEqual([{ 'Fn::GetAtt': [endpointSg, 'GroupId'] }]);
    expect(flatten(egress.map((r) => r.DestinationPrefixListId).find(Boolean))).toMatch(/S3PrefixListLookup.*PrefixLists\.0\.PrefixListId/);

    // Nothing anywhere may reach the internet.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/0\.0\.0\.0\/0|::\/0/);
  });

  it('lets the endpoints accept HTTPS from the task group only, and send nothing', () => {
    const { template, network, stack } = build();
    const taskSg = logicalIdOf(stack, network.taskSecurityGroup);
    const endpointSg = logicalIdOf(stack, network.endpointSecurityGroup);
    const ingress = resourcesOf(template, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
    expect(ingress).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [endpointSg, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [taskSg, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
      }),
    ]);
    // CDK's "disallow all" placeholder: no real egress from the endpoint ENIs.
    expect(template.toJSON().Resources[endpointSg].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
  });

  it('looks up the S3 prefix list of the deployment region', () => {
    const { template } = build();
    const [, lookup] = resourcesOf(template, 'Custom::AWS')[0]!;
    expect(flatten(lookup!.Properties.Create)).toContain('"action":"describePrefixLists"');
    expect(flatten(lookup!.Properties.Create)).toContain('com.amazonaws.${AWS::Region}.s3');
  });

  it('limits the S3 endpoint to the data bucket and ECR image layers, and the interface endpoints to this account', () => {
    const { template, stack, bucket } = build();
    const endpoints = resourcesOf(template, 'AWS::EC2::VPCEndpoint').map(([, e]) => e.Properties);
    const gateway = endpoints.find((e) => e.VpcEndpointType === 'Gateway')!;
    expect(gateway.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(stack, bucket), 'Arn'] }, '/*']] },
      }),
      expect.objectContaining({ Effect: 'Allow', Action: 's3:GetObject' }),
    ]);
    expect(flatten(gateway.PolicyDocument.Statement[1].Resource)).toBe(
      'arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*',
    );
    for (const e of endpoints.filter((x) => x.VpcEndpointType === 'Interface')) {
      expect(e.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Allow', Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } } }),
      ]);
      expect(JSON.stringify(e.PolicyDocument.Statement[0].Action)).not.toContain('*');
    }
  });

  it('records all traffic in a flow log and locks down the default security group', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      ResourceType: 'VPC',
    });
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });
});
