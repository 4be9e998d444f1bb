import { S3Client } from '@aws-sdk/client-s3';

/**
 * Region and endpoint come from the SDK's standard env (AWS_REGION,
 * AWS_ENDPOINT_URL_S3). A custom endpoint (an S3-compatible server) is
 * addressed path-style: the one accommodation, and it is driven by that env.
 */
export function createS3Client(env: Record<string, string | undefined> = process.env): S3Client {
  return new S3Client({ forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) });
}
