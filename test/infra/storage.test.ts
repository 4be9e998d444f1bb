import { describe, expect, it } from 'vitest';
import { Template, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BUNDLE_PREFIX, RESULT_PREFIX } from '../../core/service-env';
import { LAMBDA_RUNTIME } from '../../lib/defaults';
import { Storage } from '../../lib/storage';
import { inlineCode, logicalIdOf, newStack, resourcesOf } from './fixtures';

function build(props: Partial<ConstructorParameters<typeof Storage>[2]> = {}) {
  const stack = newStack();
  const storage = new Storage(stack, 'Storage', { corsOrigins: ['https://site.example'], ...props });
  return { stack, storage };
}

describe('Storage', () => {
  it('keeps the data bucket private, encrypted, TLS-only and without ACLs', () => {
    const { stack, storage } = build();
    const template = Template.fromStack(stack);
    const bucketId = logicalIdOf(stack, storage.dataBucket);
    const bucket = template.toJSON().Resources[bucketId];
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.Properties.LoggingConfiguration).toMatchObject({ LogFilePrefix: 'data-bucket/' });
    expect(bucket.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('expires bundles after 1 day and results after 7 days by default, and aborts stale multipart uploads', () => {
    const { stack, storage } = build();
    const rules =
      Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, storage.dataBucket)].Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        { Id: 'ExpireBundles', Prefix: BUNDLE_PREFIX, ExpirationInDays: 1, Status: 'Enabled' },
        { Id: 'ExpireResults', Prefix: RESULT_PREFIX, ExpirationInDays: 7, Status: 'Enabled' },
        { Id: 'AbortIncompleteUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ]),
    );
    expect(rules).toHaveLength(3);
  });

  it('takes the retention days from its props', () => {
    const { stack, storage } = build({ bundleRetentionDays: 2, resultRetentionDays: 30 });
    const rules =
      Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, storage.dataBucket)].Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: 'ExpireBundles', ExpirationInDays: 2 }),
        expect.objectContaining({ Id: 'ExpireResults', ExpirationInDays: 30 }),
      ]),
    );
  });

  it('rejects retention that is not a whole number of days', () => {
    expect(() => build({ resultRetentionDays: 0 })).toThrow(/resultRetentionDays/);
    expect(() => build({ bundleRetentionDays: 1.5 })).toThrow(/bundleRetentionDays/);
  });

  it('allows CORS only from the given origins, for upload (POST) and download (GET/HEAD)', () => {
    const { stack, storage } = build({ corsOrigins: ['https://site.example', 'http://localhost:5173'] });
    const cors = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, storage.dataBucket)].Properties.CorsConfiguration;
    expect(cors.CorsRules).toHaveLength(1);
    expect(cors.CorsRules[0].AllowedOrigins).toEqual(['https://site.example', 'http://localhost:5173']);
    expect([...cors.CorsRules[0].AllowedMethods].sort()).toEqual(['GET', 'HEAD', 'POST']);
    expect(() => build({ corsOrigins: [] })).toThrow(/corsOrigins/);
  });

  it('keeps access logs private and expiring', () => {
    const { stack, storage } = build();
    const logs = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, storage.accessLogBucket)].Properties;
    expect(logs.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
    expect(logs.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([{ Id: 'ExpireAccessLogs', ExpirationInDays: 90, Status: 'Enabled' }]),
    );
  });

  it('sends ObjectCreated notifications for the bundle prefix only', () => {
    const { stack, storage } = build();
    const fn = new lambda.Function(stack, 'Fn', { runtime: LAMBDA_RUNTIME, handler: 'index.handler', code: inlineCode });
    storage.notifyOnBundleUpload(fn);
    const [, notifications] = resourcesOf(Template.fromStack(stack), 'Custom::S3BucketNotifications')[0]!;
    const configs = notifications!.Properties.NotificationConfiguration.LambdaFunctionConfigurations;
    expect(configs).toHaveLength(1);
    expect(configs[0].Events).toEqual(['s3:ObjectCreated:*']);
    expect(configs[0].Filter).toEqual({ Key: { FilterRules: [{ Name: 'prefix', Value: BUNDLE_PREFIX }] } });
  });

  it('grants exactly one S3 action on exactly one prefix per grant method', () => {
    const { stack, storage } = build();
    const grants: [string, (g: iam.IGrantable) => iam.Grant, string, string][] = [
      ['PutBundles', (g) => storage.grantPutBundles(g), 's3:PutObject', BUNDLE_PREFIX],
      ['ReadBundles', (g) => storage.grantReadBundles(g), 's3:GetObject', BUNDLE_PREFIX],
      ['DeleteBundles', (g) => storage.grantDeleteBundles(g), 's3:DeleteObject', BUNDLE_PREFIX],
      ['ReadResults', (g) => storage.grantReadResults(g), 's3:GetObject', RESULT_PREFIX],
      ['PutResults', (g) => storage.grantPutResults(g), 's3:PutObject', RESULT_PREFIX],
      ['DeleteResults', (g) => storage.grantDeleteResults(g), 's3:DeleteObject', RESULT_PREFIX],
    ];
    const bucketId = logicalIdOf(stack, storage.dataBucket);
    for (const [id, grant] of grants) grant(new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    storage.grantListBucket(new iam.Role(stack, 'List', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    const template = Template.fromStack(stack);
    for (const [id, , action, prefix] of grants) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp(`^${id}`) }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: action,
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] },
            },
          ],
        },
      });
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^List') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } }] },
    });
  });
});
