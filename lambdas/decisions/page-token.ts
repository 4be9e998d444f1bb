/**
 * The listings' opaque nextToken: a position as base64url JSON. Decoding never throws; what it yields is unknown
 * and each listing validates it against the positions it can be at (a bad token is 400, never a DynamoDB error).
 */
import { DomainError } from '../../core/errors';

export function encodePageToken(position: unknown): string | undefined {
  return position === undefined ? undefined : Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a token holds, or undefined when it is not base64url JSON. */
export function decodePageToken(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export function invalidPageToken(): DomainError {
  return new DomainError('INVALID_REQUEST', 'nextToken is not valid.', { details: { field: 'nextToken' } });
}
