/**
 * The presigned POST a client uploads its bundle with. The policy fixes the
 * key, the content type and the size range, and expires within 15 minutes.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { UploadTicket } from '../../core/api-schemas';
import { s3Keys } from '../../core/service-env';

export const BUNDLE_CONTENT_TYPE = 'application/zip';
const MAX_UPLOAD_URL_SECONDS = 15 * 60;

export async function createUploadTicket(
  s3: S3Client,
  bucket: string,
  jobId: string,
  maxBytes: number,
  expiresInSeconds: number,
  nowMs: number = Date.now(),
): Promise<UploadTicket> {
  const seconds = Math.max(1, Math.min(MAX_UPLOAD_URL_SECONDS, Math.floor(expiresInSeconds)));
  const { url, fields } = await createPresignedPost(s3, {
    Bucket: bucket,
    Key: s3Keys.bundle(jobId),
    Conditions: [
      ['content-length-range', 1, maxBytes],
      ['eq', '$Content-Type', BUNDLE_CONTENT_TYPE],
    ],
    Fields: { 'Content-Type': BUNDLE_CONTENT_TYPE },
    Expires: seconds,
  });
  return { url, fields, expiresAt: new Date(nowMs + seconds * 1000).toISOString(), maxBytes };
}
