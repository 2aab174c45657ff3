/**
 * How the customer's browser pays, decided once from the configuration and
 * handed to the order page by the server:
 *
 *   stripe     a publishable key and the real Stripe API: Stripe's Payment
 *              Element confirms the order's PaymentIntent with its client
 *              secret (Stripe.js, loaded only then);
 *   simulator  the local payment simulator (STRIPE_API_HOST, never in
 *              production): a clearly marked test-mode card form that
 *              confirms the PaymentIntent on the simulator the way Stripe.js
 *              does — publishable key, client secret, the simulator's confirm
 *              endpoint, straight from the browser (the simulator answers
 *              other origins as api.stripe.com does);
 *   off        neither (a real secret key without a publishable key): the
 *              page says that payment is not set up here.
 *
 * Either way the order itself moves only through the signed webhook and the
 * worker: the browser never tells our server that it paid.
 */
import type { Config } from '../config';

/** Any test key will do: the simulator has one account. Visible in the page, like every publishable key. */
export const SIMULATOR_PUBLISHABLE_KEY = 'pk_test_payment_simulator';

export type PaymentMode =
  | { kind: 'stripe'; publishableKey: string }
  | { kind: 'simulator'; publishableKey: string; apiUrl: string }
  | { kind: 'off'; reason: string };

export function paymentModeFor(
  config: Pick<Config, 'APP_ENV' | 'NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY' | 'STRIPE_API_HOST' | 'STRIPE_API_PORT' | 'STRIPE_API_PROTOCOL'>,
): PaymentMode {
  if (config.STRIPE_API_HOST) {
    // The configuration refuses this already; the card form must never depend on that alone.
    if (config.APP_ENV === 'production') return { kind: 'off', reason: 'A Stripe stand-in is configured in production.' };
    const protocol = config.STRIPE_API_PROTOCOL ?? 'https';
    const port = config.STRIPE_API_PORT ? `:${config.STRIPE_API_PORT}` : '';
    return { kind: 'simulator', publishableKey: SIMULATOR_PUBLISHABLE_KEY, apiUrl: `${protocol}://${config.STRIPE_API_HOST}${port}` };
  }
  if (config.NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY) return { kind: 'stripe', publishableKey: config.NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY };
  return { kind: 'off', reason: 'Card payments are not set up: NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY is missing.' };
}
