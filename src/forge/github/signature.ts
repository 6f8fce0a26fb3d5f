/**
 * GitHub webhook signatures: `X-Hub-Signature-256` (HMAC-SHA256, checked by
 * @octokit/webhooks-methods) and the legacy `X-Hub-Signature` (HMAC-SHA1), both constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { verify } from '@octokit/webhooks-methods';

export interface SignatureHeaders {
  sha256?: string;
  sha1?: string;
}

function verifySha1(secret: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha1=${createHmac('sha1', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Returns null when the body is signed correctly, else why not. */
export async function checkSignature(
  secret: string,
  body: Buffer,
  headers: SignatureHeaders,
): Promise<string | null> {
  if (headers.sha256) {
    if (body.length === 0) return 'empty body';
    const ok = await verify(secret, body.toString('utf8'), headers.sha256).catch(() => false);
    return ok ? null : 'X-Hub-Signature-256 does not match the body';
  }
  if (headers.sha1) {
    return verifySha1(secret, body, headers.sha1) ? null : 'X-Hub-Signature does not match the body';
  }
  return 'missing X-Hub-Signature-256 header';
}
