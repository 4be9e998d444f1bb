/**
 * Verifies an S3 presigned-POST upload the way S3 does (signature V4 over the
 * base64 policy, expiry, and every condition), for local mode: s3rver accepts
 * any POST, so without this the upload limits would never be exercised.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PostPolicyCheck {
  /** Form fields as sent, in order (field names compared case-insensitively, like S3). */
  fields: Record<string, string>;
  /** Bucket the form was posted to. */
  bucket: string;
  /** Size of the file part, bytes. */
  fileSize: number;
  /** Secret key of the access key id in `x-amz-credential`. */
  secretFor: (accessKeyId: string) => string | undefined;
  now?: Date;
}

export type PostPolicyVerdict = { ok: true; key: string } | { ok: false; status: number; code: string; message: string };

type Condition = Record<string, string> | [string, string | number, string | number];

function deny(code: string, message: string, status = 403): PostPolicyVerdict {
  return { ok: false, status, code, message };
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export function verifyPostPolicy(check: PostPolicyCheck): PostPolicyVerdict {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(check.fields)) fields[name.toLowerCase()] = value;
  const policyB64 = fields.policy;
  const credential = fields['x-amz-credential'];
  const signature = fields['x-amz-signature'];
  if (!policyB64 || !credential || !signature) return deny('AccessDenied', 'Missing policy, credential or signature field');
  if (fields['x-amz-algorithm'] !== 'AWS4-HMAC-SHA256') return deny('InvalidArgument', 'Unsupported x-amz-algorithm', 400);

  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  const secret = accessKeyId ? check.secretFor(accessKeyId) : undefined;
  if (!secret || !date || !region || service !== 's3' || terminator !== 'aws4_request') {
    return deny('InvalidAccessKeyId', 'The access key id in x-amz-credential is not known');
  }
  const expected = createHmac('sha256', signingKey(secret, date, region, service))
    .update(policyB64)
    .digest('hex');
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return deny('SignatureDoesNotMatch', 'The request signature does not match the policy');
  }

  let policy: { expiration?: string; conditions?: Condition[] };
  try {
    policy = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8'));
  } catch {
    return deny('InvalidPolicyDocument', 'The policy is not valid JSON', 400);
  }
  const expiration = Date.parse(policy.expiration ?? '');
  if (!Number.isFinite(expiration)) return deny('InvalidPolicyDocument', 'The policy has no valid expiration', 400);
  if ((check.now ?? new Date()).getTime() > expiration) return deny('AccessDenied', 'Invalid according to Policy: Policy expired.');

  const covered = new Set(['policy', 'x-amz-signature', 'file']);
  for (const condition of policy.conditions ?? []) {
    const problem = checkCondition(condition, fields, check, covered);
    if (problem) return deny('AccessDenied', `Invalid according to Policy: Policy Condition failed: ${problem}`);
  }
  // S3 requires every form field (but a few) to be named by a condition.
  for (const name of Object.keys(fields)) {
    if (!covered.has(name) && !name.startsWith('x-ignore-')) {
      return deny('AccessDenied', `Invalid according to Policy: Extra input fields: ${name}`);
    }
  }
  const key = fields.key;
  if (!key) return deny('InvalidArgument', 'Bucket POST must contain a field named key', 400);
  return { ok: true, key };
}

function fieldValue(name: string, fields: Record<string, string>, check: PostPolicyCheck): string | undefined {
  return name === 'bucket' ? check.bucket : fields[name];
}

function checkCondition(
  condition: Condition,
  fields: Record<string, string>,
  check: PostPolicyCheck,
  covered: Set<string>,
): string | undefined {
  if (!Array.isArray(condition)) {
    for (const [rawName, expected] of Object.entries(condition)) {
      const name = rawName.toLowerCase();
      covered.add(name);
      if (fieldValue(name, fields, check) !== expected) return `["eq", "$${rawName}", "${expected}"]`;
    }
    return undefined;
  }
  const [operator, first, second] = condition;
  if (operator === 'content-length-range') {
    const min = Number(first);
    const max = Number(second);
    if (check.fileSize < min || check.fileSize > max) {
      return `["content-length-range", ${min}, ${max}] (the file is ${check.fileSize} bytes)`;
    }
    return undefined;
  }
  const name = String(first).replace(/^\$/, '').toLowerCase();
  covered.add(name);
  const actual = fieldValue(name, fields, check) ?? '';
  if (operator === 'eq' && actual !== String(second)) return JSON.stringify(condition);
  if (operator === 'starts-with' && !actual.startsWith(String(second))) return JSON.stringify(condition);
  if (operator !== 'eq' && operator !== 'starts-with') return `unsupported operator ${operator}`;
  return undefined;
}
