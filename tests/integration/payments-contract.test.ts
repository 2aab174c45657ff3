/**
 * The payments adapter's calls checked against Stripe's API specification by
 * stripe-mock: it validates every parameter we send and answers with a
 * fixture, so this proves request shape, not behaviour (the simulator does that).
 */
import { describe, expect, it } from 'vitest';
import { createOrderPaymentIntent, retrievePaymentIntent } from '../../src/server/payments/payment-intents';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { customer, env } from '../helpers';

function stripeMock() {
  const url = new URL(env('STRIPE_MOCK_URL'));
  return createStripeClient({
    STRIPE_SECRET_KEY: 'sk_test_123',
    STRIPE_API_HOST: url.hostname,
    STRIPE_API_PORT: Number(url.port),
    STRIPE_API_PROTOCOL: 'http',
  });
}

describe('payments adapter against stripe-mock', () => {
  it('creates a PaymentIntent with parameters Stripe accepts', async () => {
    const intent = await createOrderPaymentIntent(stripeMock(), {
      _id: 'ord_0123456789abcdef01234567',
      totalMinor: 259_800,
      currency: 'inr',
      customer: { ...customer, address: { ...customer.address, line2: 'Floor 2' } },
    });
    expect(intent.object).toBe('payment_intent');
    expect(intent.id).toMatch(/^pi_/);
  });

  it('retrieves a PaymentIntent', async () => {
    const intent = await retrievePaymentIntent(stripeMock(), 'pi_123');
    expect(intent.object).toBe('payment_intent');
  });

  it('is refused by stripe-mock when a parameter is invalid (the check can fail)', async () => {
    const params = { amount: 100, currency: 'inr', not_a_stripe_param: 'x' } as unknown as Parameters<
      ReturnType<typeof stripeMock>['paymentIntents']['create']
    >[0];
    await expect(stripeMock().paymentIntents.create(params)).rejects.toThrow(/additional properties are not allowed|not_a_stripe_param/);
  });
});
