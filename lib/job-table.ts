/**
 * The jobs table (jobs, capacity counters, idempotency keys — core/service-env.ts
 * TABLE): on demand, point-in-time recovery, TTL on `expiresAt`, the
 * owner+createdAt index behind GET /jobs, the sparse index of due webhook deliveries, and the admin
 * listing's indexes (status, error code, creation month; each sorted by createdAt).
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
  /**
   * How many of the admin indexes exist, in order byStatus, byErrorCode, byCreatedMonth (0–3). CloudFormation adds
   * one GSI per table update, so an existing table is brought to 3 one deploy at a time.
   * @default 3
   */
  readonly adminIndexes?: number;
}

/** The admin listing's indexes, in the order a table gains them: [name, partition key, sort key]. */
export const ADMIN_INDEXES = [
  [TABLE.statusIndex, TABLE.statusIndexPartitionKey, TABLE.statusIndexSortKey],
  [TABLE.codeIndex, TABLE.codeIndexPartitionKey, TABLE.codeIndexSortKey],
  [TABLE.monthIndex, TABLE.monthIndexPartitionKey, TABLE.monthIndexSortKey],
] as const;

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
    // byStatus: every job (a status move moves it between partitions); byErrorCode: sparse, only jobs with an error;
    // byCreatedMonth: every job, the unfiltered listing. The admin listing and counts read only these (and byOwner).
    for (const [indexName, partitionKey, sortKey] of ADMIN_INDEXES.slice(0, props.adminIndexes ?? ADMIN_INDEXES.length)) {
      this.table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
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

  /**
   * The admin readers: GetItem on the table and Query on the admin indexes (named ARNs, no Scan, no wildcard).
   */
  grantAdminRead(grantee: iam.IGrantable): iam.Grant {
    const indexes = [TABLE.statusIndex, TABLE.codeIndex, TABLE.ownerIndex, TABLE.monthIndex].map(
      (name) => `${this.table.tableArn}/index/${name}`,
    );
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.table.tableArn] });
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: indexes });
  }

  /** GetItem of one item by key (a job by id), on the table only. */
  grantGetItem(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.table.tableArn] });
  }

  /** BatchGetItem on the table only: the capacity ledgers and daily counts of a page of principals. */
  grantCapacityRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:BatchGetItem'], resourceArns: [this.table.tableArn] });
  }

  /** Query of one named index (no Scan, no wildcard). */
  grantQueryIndex(grantee: iam.IGrantable, indexName: string): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${indexName}`] });
  }

  private acknowledgeIndexWildcard(grantee: iam.IGrantable): void {
    acknowledgeOnGrantee(
      grantee,
      `AwsSolutions-IAM5[Resource::${arnOf(this.table)}/index/*]`,
      'JobTable grant: the table ARN plus "<table>/index/*" so its GSIs (byOwner: GET /jobs, reaper sweeps; byWebhookDue: the webhook sender) can be queried; no other table is reachable.',
    );
  }
}
