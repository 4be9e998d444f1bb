import { randomBytes } from 'node:crypto';

/** A key pair local clients sign with. */
export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** For dynalite and the SFN server, which accept any key pair; local S3 accepts only the stack's own (newLocalCredentials). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * The key pair of one start of local mode: the id s3rver knows, and a secret made now that only the
 * stack's functions (and tests, through LocalStack.credentials) get, so no one else can sign S3 requests.
 */
export function newLocalCredentials(): LocalCredentials {
  return { accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: randomBytes(30).toString('base64url') };
}
