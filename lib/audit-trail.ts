/**
 * The audit trail table (core/service-env.ts AUDIT_TABLE): one item per admin action, in the partition of its month
 * and sorted by time, so listing is a Query; items expire by TTL (lambdas/storage/audit-log.ts sets it). On demand,
 * encrypted, point-in-time recovery. The admin action functions may only put new items; the lister may only Query.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AUDIT_TABLE } from '../core/service-env';
import { durableTableProps } from './defaults';

export interface AuditTrailProps {
  /**
   * What `cdk destroy` does with the table; a retained table also gets deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class AuditTrail extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: AUDIT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AUDIT_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      ...durableTableProps(removalPolicy),
      timeToLiveAttribute: AUDIT_TABLE.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
    });
  }

  /** Appending entries: PutItem (conditional on a new key) on this table only; no update, no delete. */
  grantAppend(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:PutItem'], resourceArns: [this.table.tableArn] });
  }

  /** Listing entries: Query on this table only. */
  grantList(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [this.table.tableArn] });
  }
}
