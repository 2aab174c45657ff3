/**
 * The Stripe SDK, configured once. With STRIPE_API_HOST unset it talks to
 * Stripe itself; in development and tests it points at the local payment
 * simulator (or stripe-mock for the contract check). Same code either way.
 */
import Stripe from 'stripe';
import type { Config } from '../config';

/** Runs one request to Stripe; the web app's gives back the call's admission slot while it waits (http/admission.ts). */
export type AroundStripeRequest = <T>(request: () => Promise<T>) => Promise<T>;

export function createStripeClient(
  config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_HOST' | 'STRIPE_API_PORT' | 'STRIPE_API_PROTOCOL'>,
  around?: AroundStripeRequest,
): Stripe {
  return new Stripe(config.STRIPE_SECRET_KEY, {
    ...(around ? { httpClient: requestsThrough(around) } : {}),
    ...(config.STRIPE_API_HOST ? { host: config.STRIPE_API_HOST } : {}),
    ...(config.STRIPE_API_PORT ? { port: config.STRIPE_API_PORT } : {}),
    ...(config.STRIPE_API_PROTOCOL ? { protocol: config.STRIPE_API_PROTOCOL } : {}),
    // The SDK retries network failures with the same Idempotency-Key.
    maxNetworkRetries: 2,
    timeout: 15_000,
    appInfo: { name: 'resilient-orders' },
  });
}

/** The SDK's own HTTP client, each request run through `around`. */
function requestsThrough(around: AroundStripeRequest): Stripe.HttpClient {
  const inner = Stripe.createNodeHttpClient();
  const client = Object.create(inner) as Stripe.HttpClient;
  client.makeRequest = (...args: Parameters<Stripe.HttpClient['makeRequest']>) => around(() => inner.makeRequest(...args));
  return client;
}
