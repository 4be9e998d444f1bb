/**
 * Resolves CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split) of a synthesized template to the names and ARNs the
 * local stand-ins use, so the env vars, state machine definition and
 * gateway responses come out of the template as CloudFormation would deploy
 * them — only pointing at 127.0.0.1.
 */

export type Template = {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: unknown }>;
};
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface LocalNames {
  stackName: string;
  accountId: string;
  region: string;
  partition: string;
  urlSuffix: string;
  /** host:port of the local web page: what the CloudFront distribution's DomainName becomes. */
  webHost: string;
}

export const DEFAULT_LOCAL_NAMES: Omit<LocalNames, 'stackName' | 'webHost'> = {
  accountId: '000000000000',
  region: 'us-east-1',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
};

/** A physical id derived from the logical id, stable across runs (so data kept in the data dir stays addressable). */
function physicalName(names: LocalNames, logicalId: string): string {
  return `${names.stackName}-${logicalId}`;
}

function arn(names: LocalNames, service: string, resource: string, region = names.region, account = names.accountId): string {
  return `arn:${names.partition}:${service}:${region}:${account}:${resource}`;
}

export class Resolver {
  constructor(
    readonly template: Template,
    readonly names: LocalNames,
  ) {}

  private resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`The template has no resource ${logicalId}`);
    return resource;
  }

  private pseudo(name: string): string | undefined {
    const n = this.names;
    const values: Record<string, string> = {
      'AWS::AccountId': n.accountId,
      'AWS::Region': n.region,
      'AWS::Partition': n.partition,
      'AWS::URLSuffix': n.urlSuffix,
      'AWS::StackName': n.stackName,
      'AWS::StackId': arn(n, 'cloudformation', `stack/${n.stackName}/local`),
      'AWS::NoValue': '',
    };
    return values[name];
  }

  /** What `Ref` returns for a resource, by type (the CloudFormation reference of each type). */
  ref(logicalId: string): string {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const resource = this.resource(logicalId);
    const props = resource.Properties ?? {};
    const n = this.names;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return props.TableName ? this.string(props.TableName) : physicalName(n, logicalId);
      case 'AWS::S3::Bucket':
        return props.BucketName ? this.string(props.BucketName) : physicalName(n, logicalId).toLowerCase().slice(0, 63);
      case 'AWS::Lambda::Function':
        return props.FunctionName ? this.string(props.FunctionName) : physicalName(n, logicalId);
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(logicalId, 'Arn');
      case 'AWS::ECS::TaskDefinition':
        return this.getAtt(logicalId, 'TaskDefinitionArn');
      case 'AWS::SQS::Queue':
        return `http://127.0.0.1/${n.accountId}/${physicalName(n, logicalId)}`;
      case 'AWS::EC2::Subnet':
        return `subnet-${logicalId.toLowerCase().slice(-17)}`;
      case 'AWS::EC2::VPC':
        return `vpc-${logicalId.toLowerCase().slice(-17)}`;
      case 'AWS::EC2::SecurityGroup':
        return `sg-${logicalId.toLowerCase().slice(-17)}`;
      case 'AWS::ApiGateway::Stage':
        return this.string(props.StageName);
      default:
        return physicalName(n, logicalId);
    }
  }

  /** What `Fn::GetAtt` returns, for the attributes the stack's wiring uses. */
  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    const n = this.names;
    const type = resource.Type;
    const key = `${type}.${attribute}`;
    switch (key) {
      case 'AWS::Lambda::Function.Arn':
        return arn(n, 'lambda', `function:${this.ref(logicalId)}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return arn(n, 'states', `stateMachine:${physicalName(n, logicalId)}`);
      case 'AWS::StepFunctions::StateMachine.Name':
        return physicalName(n, logicalId);
      case 'AWS::DynamoDB::Table.Arn':
        return arn(n, 'dynamodb', `table/${this.ref(logicalId)}`);
      case 'AWS::S3::Bucket.Arn':
        return `arn:${n.partition}:s3:::${this.ref(logicalId)}`;
      case 'AWS::ECS::Cluster.Arn':
        return arn(n, 'ecs', `cluster/${physicalName(n, logicalId)}`);
      case 'AWS::ECS::TaskDefinition.TaskDefinitionArn': {
        const family = resource.Properties?.Family ? this.string(resource.Properties.Family) : physicalName(n, logicalId);
        return arn(n, 'ecs', `task-definition/${family}:1`);
      }
      case 'AWS::EC2::SecurityGroup.GroupId':
        return this.ref(logicalId);
      case 'AWS::Cognito::UserPool.ProviderURL':
        return `cognito-idp.${n.region}.${n.urlSuffix}/${this.ref(logicalId)}`;
      case 'AWS::CloudFront::Distribution.DomainName':
        return n.webHost;
      case 'AWS::SQS::Queue.Arn':
        return arn(n, 'sqs', physicalName(n, logicalId));
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return `${logicalId}-root`;
      default:
        if (attribute === 'Arn') {
          const service = type.split('::')[1]?.toLowerCase() ?? 'local';
          return arn(n, service, physicalName(n, logicalId));
        }
        return `${physicalName(n, logicalId)}.${attribute}`;
    }
  }

  /** Resolves every intrinsic in `value`, deeply. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return typeof value === 'string' ? localize(value) : value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return localize(this.ref(String(arg)));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
          return localize(this.getAtt(String(id), String(attribute)));
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return localize((this.resolve(parts) as unknown[]).map(String).join(separator));
        }
        case 'Fn::Sub':
          return localize(this.sub(arg));
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolve(source)).split(separator);
        }
        default:
          if (fn.startsWith('Fn::')) throw new Error(`Local mode cannot resolve ${fn} (in ${JSON.stringify(value).slice(0, 200)})`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  /** Resolves to a string (throws naming the value when it is not one). */
  string(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number')
      throw new Error(`Expected a string, got ${JSON.stringify(value).slice(0, 200)}`);
    return String(resolved);
  }

  private sub(arg: unknown): string {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
      if (name in vars) return String(this.resolve(vars[name]));
      if (name.includes('.')) {
        const [id, attribute] = name.split(/\.(.+)/) as [string, string];
        return this.getAtt(id, attribute);
      }
      return this.ref(name);
    });
  }
}

/** Nothing local speaks TLS: an https URL of a local stand-in becomes http. */
function localize(value: string): string {
  return value.replace(/https:\/\/127\.0\.0\.1(?=[:/]|$)/g, 'http://127.0.0.1');
}

/** The logical id a `{Ref: id}` / `{Fn::GetAtt: [id, …]}` points at, without resolving it. */
export function referencedId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.Ref === 'string') return record.Ref;
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}
