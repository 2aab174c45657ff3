/**
 * What Stripe.js does for a card payment, done against the local payment
 * simulator for the test-mode card form: straight from the browser to the
 * simulator's Stripe API (it answers other origins, as api.stripe.com does),
 * authenticated with a publishable key, naming the PaymentIntent by its
 * client secret. The answer only tells the page how the attempt went; the
 * order itself moves when the simulator's signed webhook reaches our server.
 */

/** The PaymentIntent as a publishable key sees it: what this page reads of it. */
export interface ClientIntent {
  id: string;
  status: string;
  next_action:
    | { type: 'use_stripe_sdk'; use_stripe_sdk: { type: string; stripe_js: string } }
    | { type: 'redirect_to_url'; redirect_to_url: { url: string } }
    | { type: string }
    | null;
  last_payment_error: { code?: string; decline_code?: string; message?: string } | null;
}

export interface ApiError {
  type: string;
  code?: string;
  decline_code?: string;
  message: string;
  payment_intent?: ClientIntent;
}

export type IntentAnswer = { ok: true; intent: ClientIntent } | { ok: false; error: ApiError };

/** The 3-D Secure page of an intent waiting for one, as Stripe.js would open it. */
export function challengeUrlOf(intent: ClientIntent): string | null {
  const next = intent.next_action;
  if (intent.status !== 'requires_action' || !next) return null;
  if (next.type === 'use_stripe_sdk' && 'use_stripe_sdk' in next) return next.use_stripe_sdk.stripe_js;
  if (next.type === 'redirect_to_url' && 'redirect_to_url' in next) return next.redirect_to_url.url;
  return null;
}

export function simulatorPayments(apiUrl: string, publishableKey: string) {
  const call = async (method: 'GET' | 'POST', path: string, params: Record<string, string>): Promise<IntentAnswer> => {
    const form = new URLSearchParams(params).toString();
    const res = await fetch(`${apiUrl}${path}${method === 'GET' ? `?${form}` : ''}`, {
      method,
      headers: {
        Authorization: `Bearer ${publishableKey}`,
        ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'POST' ? { body: form } : {}),
      // Nothing of ours travels to the payment service but the key and the client secret.
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const body = (await res.json()) as ClientIntent | { error: ApiError };
    return 'error' in body ? { ok: false, error: body.error } : { ok: true, intent: body };
  };
  return {
    /**
     * Confirms with a test card. `use_stripe_sdk`, as Stripe.js sends it: a
     * 3-D Secure card answers with a challenge to show in a frame on this page.
     */
    confirm: (intentId: string, clientSecret: string, paymentMethod: string) =>
      call('POST', `/v1/payment_intents/${encodeURIComponent(intentId)}/confirm`, {
        client_secret: clientSecret,
        payment_method: paymentMethod,
        use_stripe_sdk: 'true',
      }),
    retrieve: (intentId: string, clientSecret: string) =>
      call('GET', `/v1/payment_intents/${encodeURIComponent(intentId)}`, { client_secret: clientSecret }),
  };
}
