/** The key pair the functions and tests sign with: s3rver knows exactly this one; dynalite and the SFN server accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
