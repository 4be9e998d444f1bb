/**
 * Bucket notifications as S3 sends them: each event record s3rver emits is
 * matched against the bucket's notification configurations from the template
 * (event type pattern, key prefix/suffix) and each match becomes one
 * asynchronous invocation of the target function, with the key URL-encoded
 * the way S3 writes it into events.
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';
import type { BucketModel, NotificationModel } from '../../model/stack-model';

/** `s3:ObjectCreated:*` matches `ObjectCreated:Post`; `s3:ObjectCreated:Put` only Put. */
export function eventMatches(pattern: string, eventName: string): boolean {
  const wanted = pattern.replace(/^s3:/, '');
  return wanted.endsWith(':*') ? eventName.startsWith(wanted.slice(0, -1)) : wanted === eventName;
}

/** Whether a notification configuration selects this record (the key as stored, not encoded). */
export function notificationMatches(notification: NotificationModel, eventName: string, key: string): boolean {
  if (!notification.events.some((pattern) => eventMatches(pattern, eventName))) return false;
  if (notification.prefix !== undefined && !key.startsWith(notification.prefix)) return false;
  if (notification.suffix !== undefined && !key.endsWith(notification.suffix)) return false;
  return true;
}

/** S3 event keys are form-encoded: spaces as '+', other reserved characters %XX, '/' kept. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/**
 * Which invocations an s3rver event causes. s3rver puts the key in the event
 * unencoded; S3 encodes it, so the record delivered carries the encoded key.
 */
export function invocationsFor(buckets: BucketModel[], event: S3Event): { functionArn: string; event: S3Event }[] {
  const invocations: { functionArn: string; event: S3Event }[] = [];
  for (const record of event.Records ?? []) {
    const bucket = buckets.find((b) => b.name === record.s3.bucket.name);
    if (!bucket) continue;
    const key = record.s3.object.key;
    bucket.notifications.forEach((notification, index) => {
      if (!notificationMatches(notification, record.eventName, key)) return;
      const delivered: S3EventRecord = {
        ...record,
        s3: {
          ...record.s3,
          configurationId: `${bucket.logicalId}-notification-${index + 1}`,
          object: { ...record.s3.object, key: encodeEventKey(key) },
        },
      };
      invocations.push({ functionArn: notification.functionArn, event: { Records: [delivered] } });
    });
  }
  return invocations;
}
