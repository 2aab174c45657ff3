/** Unguessable identifiers. Cart ids and access tokens are capabilities: 192 random bits. */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const newCartId = (): string => randomBytes(24).toString('base64url');
export const newAccessToken = (): string => randomBytes(24).toString('base64url');
export const newOrderId = (): string => `ord_${randomBytes(12).toString('hex')}`;

/** Constant-time comparison, so a token cannot be guessed byte by byte from timings. */
export function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
