/**
 * Webhook signatures exactly as Stripe makes them, so the receiving app can
 * verify deliveries with the unmodified `stripe.webhooks.constructEvent`:
 *
 *   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The whole `whsec_…` string is the HMAC key (Stripe does not base64-decode it).
 */
import { createHmac } from 'node:crypto';

export function computeSignature(secret: string, timestamp: number, payload: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, payload: string): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, payload)}`;
}
