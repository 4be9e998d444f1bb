/**
 * The jobs table (jobs, capacity counters, idempotency keys — core/service-env.ts
 * TABLE): on demand, point-in-time recovery, TTL on `expiresAt`, the
 * owner+createdAt index behind GET /jobs and the sparse index of due webhook deliveries.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE } from '../core/service-env';
import { acknowledgeOnGrantee, arnOf } from './nag';

export interface JobTableProps {
  /**
   * What `cdk destroy` does with the table; a retained table also gets deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class JobTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: JobTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // Records carry their own expiry (now + jobRecordDays) and DynamoDB deletes them lazily.
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Encrypted at rest with an AWS-owned key (no KMS request charges).
      encryption: dynamodb.TableEncryption.DEFAULT,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.ownerIndex,
      partitionKey: { name: TABLE.ownerIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.ownerIndexSortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Sparse: only jobs with a callback carry webhookQueue, and only once terminal webhookAt; the sender needs the whole job.
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.webhookIndex,
      partitionKey: { name: TABLE.webhookIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.webhookIndexSortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** Get/Query/Scan on the table and its index. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexWildcard(grantee);
    return this.table.grantReadData(grantee);
  }

  /** Reads plus conditional Put/Update/Delete (state transitions, admission counters). */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexWildcard(grantee);
    return this.table.grantReadWriteData(grantee);
  }

  private acknowledgeIndexWildcard(grantee: iam.IGrantable): void {
    acknowledgeOnGrantee(
      grantee,
      `AwsSolutions-IAM5[Resource::${arnOf(this.table)}/index/*]`,
      'JobTable grant: the table ARN plus "<table>/index/*" so its GSIs (byOwner: GET /jobs, reaper sweeps; byWebhookDue: the webhook sender) can be queried; no other table is reachable.',
    );
  }
}
