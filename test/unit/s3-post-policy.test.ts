import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { describe, expect, it } from 'vitest';
import { verifyPostPolicy } from '../../local/stand-ins/s3/post-policy';

const credentials = { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' };
const client = new S3Client({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:1', forcePathStyle: true });

async function presign(maxBytes = 1000, expires = 60) {
  return createPresignedPost(client, {
    Bucket: 'data',
    Key: 'bundles/job1/bundle.zip',
    Conditions: [
      ['content-length-range', 1, maxBytes],
      ['eq', '$Content-Type', 'application/zip'],
    ],
    Fields: { 'Content-Type': 'application/zip' },
    Expires: expires,
  });
}

const secretFor = (id: string) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined);

describe('verifyPostPolicy (checks what S3 checks on a presigned POST)', () => {
  it('accepts the SDK’s presigned POST with a file in range', async () => {
    const { fields } = await presign();
    expect(verifyPostPolicy({ fields, bucket: 'data', fileSize: 500, secretFor })).toEqual({ ok: true, key: 'bundles/job1/bundle.zip' });
  });

  it('rejects a file outside content-length-range', async () => {
    const { fields } = await presign(1000);
    expect(verifyPostPolicy({ fields, bucket: 'data', fileSize: 1001, secretFor })).toMatchObject({
      ok: false,
      status: 403,
      code: 'AccessDenied',
    });
    expect(verifyPostPolicy({ fields, bucket: 'data', fileSize: 0, secretFor })).toMatchObject({ ok: false });
  });

  it('rejects a changed key, content type or bucket', async () => {
    const { fields } = await presign();
    expect(
      verifyPostPolicy({ fields: { ...fields, key: 'bundles/other/bundle.zip' }, bucket: 'data', fileSize: 5, secretFor }),
    ).toMatchObject({ ok: false });
    expect(verifyPostPolicy({ fields: { ...fields, 'Content-Type': 'text/html' }, bucket: 'data', fileSize: 5, secretFor })).toMatchObject({
      ok: false,
    });
    expect(verifyPostPolicy({ fields, bucket: 'other', fileSize: 5, secretFor })).toMatchObject({ ok: false });
  });

  it('rejects an extra field the policy does not cover', async () => {
    const { fields } = await presign();
    expect(verifyPostPolicy({ fields: { ...fields, 'x-amz-meta-evil': '1' }, bucket: 'data', fileSize: 5, secretFor })).toMatchObject({
      ok: false,
      message: expect.stringContaining('Extra input fields'),
    });
  });

  it('rejects a tampered policy or signature and an unknown key id', async () => {
    const { fields } = await presign();
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString());
    policy.conditions = policy.conditions.map((c: unknown) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 1, 10 ** 9] : c,
    );
    const tampered = { ...fields, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    expect(verifyPostPolicy({ fields: tampered, bucket: 'data', fileSize: 5000, secretFor })).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(
      verifyPostPolicy({ fields: { ...fields, 'X-Amz-Signature': '0'.repeat(64) }, bucket: 'data', fileSize: 5, secretFor }),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifyPostPolicy({ fields, bucket: 'data', fileSize: 5, secretFor: () => undefined })).toMatchObject({
      ok: false,
      code: 'InvalidAccessKeyId',
    });
  });

  it('rejects an expired policy', async () => {
    const { fields } = await presign(1000, 1);
    expect(verifyPostPolicy({ fields, bucket: 'data', fileSize: 5, secretFor, now: new Date(Date.now() + 5000) })).toMatchObject({
      ok: false,
      message: expect.stringContaining('expired'),
    });
  });
});
