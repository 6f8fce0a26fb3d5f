/**
 * GitHub webhook signatures: `X-Hub-Signature-256` (HMAC-SHA256) and the legacy `X-Hub-Signature`
 * (HMAC-SHA1), compared in constant time.
 *
 * Why not @octokit/webhooks-methods: its `verify` takes the payload as a string, and decoding the
 * raw body to a string first changes bytes that are not valid UTF-8 (and refuses an empty body), so
 * a correctly signed delivery could fail. The HMAC must be over the exact bytes received.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SignatureHeaders {
  sha256?: string;
  sha1?: string;
}

function matches(algorithm: 'sha256' | 'sha1', secret: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(`${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Returns null when the body is signed correctly, else why not. */
export function checkSignature(secret: string, body: Buffer, headers: SignatureHeaders): string | null {
  if (headers.sha256) {
    return matches('sha256', secret, body, headers.sha256)
      ? null
      : 'X-Hub-Signature-256 does not match the body';
  }
  if (headers.sha1) {
    return matches('sha1', secret, body, headers.sha1) ? null : 'X-Hub-Signature does not match the body';
  }
  return 'missing X-Hub-Signature-256 header';
}
