/**
 * Presigned GET/PUT URLs: the user's result download (≤ 5 minutes) and the
 * runner's three URLs (it has no AWS credentials and reaches S3 only through these).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { resultContentDisposition } from '../../core/api-schemas';
import { s3Keys } from '../../core/service-env';

const MAX_DOWNLOAD_URL_SECONDS = 5 * 60;

export async function resultDownloadUrl(
  s3: S3Client,
  bucket: string,
  jobId: string,
  workflowName: string,
  expiresInSeconds: number,
): Promise<string> {
  return getSignedUrl(
    s3,
    new GetObjectCommand({
      Bucket: bucket,
      Key: s3Keys.result(jobId),
      ResponseContentDisposition: resultContentDisposition(workflowName),
      ResponseContentType: 'application/zip',
    }),
    { expiresIn: Math.max(1, Math.min(MAX_DOWNLOAD_URL_SECONDS, Math.floor(expiresInSeconds))) },
  );
}

export interface RunnerUrls {
  inputUrl: string;
  resultUrl: string;
  reportUrl: string;
  logUrl: string;
}

/** GET of the bundle, PUT of result.zip, report.json and log.txt (no headers are signed besides host: a plain PUT works). */
export async function runnerUrls(s3: S3Client, bucket: string, jobId: string, expiresInSeconds: number): Promise<RunnerUrls> {
  const expiresIn = Math.max(1, Math.floor(expiresInSeconds));
  const [inputUrl, resultUrl, reportUrl, logUrl] = await Promise.all([
    getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: s3Keys.bundle(jobId) }), { expiresIn }),
    getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: s3Keys.result(jobId) }), { expiresIn }),
    getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: s3Keys.report(jobId) }), { expiresIn }),
    getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: s3Keys.log(jobId) }), { expiresIn }),
  ]);
  return { inputUrl, resultUrl, reportUrl, logUrl };
}
