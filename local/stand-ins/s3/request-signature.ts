/**
 * Verifies an S3 request's signature V4 the way S3 does, for local mode: header
 * authentication (`Authorization: AWS4-HMAC-SHA256 …`) and presigned query
 * authentication (`X-Amz-Signature`, with its expiry). The signature is recomputed
 * by @smithy/signature-v4 over the request as received (method, raw path, query,
 * the headers it names) and compared in constant time; anything unsigned, signed
 * with an unknown key, tampered with or expired is refused with S3's error code.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4, type SignatureV4CryptoInit } from '@smithy/signature-v4';

export interface SignedRequest {
  method: string;
  /** Path and query exactly as received (`req.url`). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Secret of each access key id that may sign. */
  secretFor: (accessKeyId: string) => string | undefined;
  now?: Date;
}

export type SignatureVerdict = { ok: true; accessKeyId: string } | { ok: false; status: number; code: string; message: string };

/** S3 refuses header-signed requests whose time is further than this from its clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (one week). */
export const MAX_PRESIGNED_SECONDS = 7 * 24 * 60 * 60;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

function deny(code: string, message: string, status = 403): SignatureVerdict {
  return { ok: false, status, code, message };
}

const mismatch = deny(
  'SignatureDoesNotMatch',
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
);
const unknownKey = deny('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');

/** node:crypto behind the hash interface the signer expects (an HMAC when given a key). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset() {}
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** `20260101T120000Z` → Date; anything else (S3 accepts only this form here) → undefined. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '') === value ? date : undefined;
}

type Query = Record<string, string | string[]>;

/** The query as the signer wants it: decoded names and values, repeated names as arrays. */
function parseQuery(raw: string): Query | undefined {
  // Own properties only (Object.fromEntries): a name such as `__proto__` is a parameter like any other.
  const query = new Map<string, string[]>();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    query.set(name, [...(query.get(name) ?? []), value]);
  }
  return Object.fromEntries([...query].map(([name, values]) => [name, values.length === 1 ? values[0]! : values]));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' ? value : undefined;
}

/** Parses `<key id>/<yyyymmdd>/<region>/s3/aws4_request`. */
function parseCredential(credential: string | undefined) {
  const [accessKeyId, date, region, service, terminator, ...rest] = (credential ?? '').split('/');
  if (!accessKeyId || !date || !region || service !== 's3' || terminator !== 'aws4_request' || rest.length > 0) return undefined;
  return { accessKeyId, date, region };
}

function sameSignature(expected: string | undefined, provided: string): boolean {
  if (!expected) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
}

function signerFor(accessKeyId: string, secretAccessKey: string, region: string): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service: 's3',
    sha256: NodeSha256 as unknown as SignatureV4CryptoInit['sha256'],
    // S3 signs the path as sent, without normalising or encoding it again.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** The headers a signature names, with their values as received; undefined when one is missing. */
function signedHeaderValues(headers: IncomingHttpHeaders, names: string[]): Record<string, string> | undefined {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headerValue(headers, name);
    if (value === undefined) return undefined;
    picked[name] = value;
  }
  return picked;
}

export async function verifyRequestSignature(request: SignedRequest): Promise<SignatureVerdict> {
  const [path = '/', rawQuery = ''] = splitUrl(request.url);
  const query = parseQuery(rawQuery);
  if (!query) return deny('InvalidArgument', 'The query string is not well-formed', 400);
  const authorization = headerValue(request.headers, 'authorization');
  const presigned = Object.hasOwn(query, 'X-Amz-Algorithm') || Object.hasOwn(query, 'X-Amz-Signature');
  if (authorization !== undefined && presigned) {
    return deny(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      400,
    );
  }
  if (Object.hasOwn(query, 'Signature') || Object.hasOwn(query, 'AWSAccessKeyId') || authorization?.startsWith('AWS ')) {
    return deny('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.', 400);
  }
  const now = request.now ?? new Date();
  if (authorization !== undefined) return verifyHeaderAuth(request, path, query, authorization, now);
  if (presigned) return verifyPresigned(request, path, query, now);
  return deny('AccessDenied', 'Access Denied');
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

async function verifyHeaderAuth(
  request: SignedRequest,
  path: string,
  query: Query,
  authorization: string,
  now: Date,
): Promise<SignatureVerdict> {
  const malformed = (detail: string) => deny('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`, 400);
  if (!authorization.startsWith(`${ALGORITHM} `)) return malformed(`the authorization header requires the algorithm ${ALGORITHM}.`);
  const parts: Record<string, string> = {};
  for (const part of authorization.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const { Credential: credentialText, SignedHeaders: signedHeadersText, Signature: signature } = parts;
  if (!credentialText || !signedHeadersText || !signature) {
    return malformed('the authorization header requires Credential, SignedHeaders and Signature.');
  }
  const credential = parseCredential(credentialText);
  if (!credential) return malformed(`incorrect credential scope "${credentialText}".`);
  const secret = request.secretFor(credential.accessKeyId);
  if (secret === undefined) return unknownKey;
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return deny('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (credential.date !== amzDate!.slice(0, 8)) return malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  if (headerValue(request.headers, 'x-amz-content-sha256') === undefined) {
    return deny('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return deny('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  const signedNames = signedHeadersText.split(';');
  if (!signedNames.includes('host')) return malformed('SignedHeaders must include host.');
  const headers = signedHeaderValues(request.headers, signedNames);
  if (!headers) return mismatch;
  const signed = await signerFor(credential.accessKeyId, secret, credential.region).sign(
    { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path, query, headers },
    { signingDate, signingRegion: credential.region, signableHeaders: new Set(signedNames) },
  );
  const expected = /Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization))?.[1];
  return sameSignature(expected, signature) ? { ok: true, accessKeyId: credential.accessKeyId } : mismatch;
}

async function verifyPresigned(request: SignedRequest, path: string, query: Query, now: Date): Promise<SignatureVerdict> {
  const problem = (message: string) => deny('AuthorizationQueryParametersError', message, 400);
  const [algorithm, credentialText, amzDate, expiresText, signedHeadersText, signature] = PRESIGN_PARAMS.map((name) => single(query, name));
  if (!algorithm || !credentialText || !amzDate || !expiresText || !signedHeadersText || !signature) {
    return problem(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== ALGORITHM) return problem(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const credential = parseCredential(credentialText);
  if (!credential) return problem(`Error parsing the X-Amz-Credential parameter; incorrect credential scope "${credentialText}".`);
  const secret = request.secretFor(credential.accessKeyId);
  if (secret === undefined) return unknownKey;
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return problem("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (!/^\d{1,6}$/.test(expiresText)) return problem('X-Amz-Expires should be a number');
  const expiresIn = Number(expiresText);
  if (expiresIn < 1) return problem('X-Amz-Expires must be non-negative');
  if (expiresIn > MAX_PRESIGNED_SECONDS) return problem('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  if (now.getTime() > signingDate.getTime() + expiresIn * 1000) return deny('AccessDenied', 'Request has expired');
  const signedNames = signedHeadersText.split(';');
  if (!signedNames.includes('host')) return problem('SignedHeaders must include host');
  const signedHeaders = signedHeaderValues(request.headers, signedNames);
  if (!signedHeaders) return mismatch;
  // The signer adds the six parameters itself; the payload of a presigned request is always unsigned.
  const rest: Query = Object.fromEntries(Object.entries(query).filter(([name]) => !PRESIGN_PARAMS.includes(name)));
  const headers = { ...signedHeaders, 'x-amz-content-sha256': UNSIGNED_PAYLOAD };
  const payloadHeader = new Set(['x-amz-content-sha256']);
  const presignedAgain = await signerFor(credential.accessKeyId, secret, credential.region).presign(
    { method: request.method, protocol: 'http:', hostname: signedHeaders.host ?? '', path, query: rest, headers },
    {
      signingDate,
      expiresIn,
      signingRegion: credential.region,
      signableHeaders: new Set(signedNames),
      unsignableHeaders: signedNames.includes('x-amz-content-sha256') ? undefined : payloadHeader,
      unhoistableHeaders: new Set([...signedNames, ...payloadHeader]),
    },
  );
  const expected = presignedAgain.query?.['X-Amz-Signature'];
  return sameSignature(typeof expected === 'string' ? expected : undefined, signature)
    ? { ok: true, accessKeyId: credential.accessKeyId }
    : mismatch;
}
