/**
 * The key registry table (core/principal.ts KEY_TABLE): one item per API key,
 * keyed by the SHA-256 of its value, naming the principal and role it
 * stands for. On demand, encrypted, point-in-time recovery; the authorizer
 * reads it and records a key's last use; the admin key and people routes read
 * and change it, each with only the actions it needs.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KEY_TABLE } from '../core/principal';

export interface KeyRegistryProps {
  /**
   * What `cdk destroy` does with the table; a retained table also gets deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class KeyRegistry extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: KeyRegistryProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: KEY_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS-managed KMS key: reads of the identity table show up in CloudTrail; it holds hashes, never key values.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: KEY_TABLE.principalIndex,
      partitionKey: { name: KEY_TABLE.principalIndexPartitionKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The authorizer: GetItem by hash and the lastUsedAt update, on this table only. */
  grantAuthorize(grantee: iam.IGrantable): iam.Grant {
    // The table ARN only (Table.grant would add "<table>/index/*"): the authorizer reads by key, never by index.
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [this.table.tableArn] });
  }

  /** Listing keys and people: Scan of this small table, Query of its byPrincipal index. */
  grantListKeys(grantee: iam.IGrantable): iam.Grant {
    return this.grantActions(grantee, ['dynamodb:Scan', 'dynamodb:Query']);
  }

  /** Exactly these actions: Query on the byPrincipal index, every other on the table itself. */
  grantActions(grantee: iam.IGrantable, actions: readonly `dynamodb:${string}`[]): iam.Grant {
    const index = `${this.table.tableArn}/index/${KEY_TABLE.principalIndex}`;
    const onTable = actions.filter((action) => action !== 'dynamodb:Query');
    let grant: iam.Grant | undefined;
    if (onTable.length) grant = iam.Grant.addToPrincipal({ grantee, actions: onTable, resourceArns: [this.table.tableArn] });
    if (actions.includes('dynamodb:Query'))
      grant = iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [index] });
    return grant!;
  }
}
