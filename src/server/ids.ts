/** Unguessable identifiers. Cart ids and access tokens are capabilities: 192 random bits. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const newCartId = (): string => randomBytes(24).toString('base64url');
export const newAccessToken = (): string => randomBytes(24).toString('base64url');
export const newOrderId = (): string => `ord_${randomBytes(12).toString('hex')}`;

/**
 * The id of the order a placeOrder request creates, derived from its
 * Idempotency-Key and request hash (same form as newOrderId): a retry of the
 * request names the same order before writing anything, so the open-orders
 * entry it writes first is the one its order will have. Not a secret (the
 * access token is the capability). The request hash is in it so that a key
 * reused for another request after the key was purged names another order.
 */
export const orderIdFor = (idempotencyKey: string, requestHash: string): string =>
  `ord_${createHash('sha256').update(`order\0${idempotencyKey}\0${requestHash}`).digest('hex').slice(0, 24)}`;

/** Constant-time comparison, so a token cannot be guessed byte by byte from timings. */
export function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
