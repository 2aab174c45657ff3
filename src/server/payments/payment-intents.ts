/**
 * The payments adapter: every call we make to Stripe's PaymentIntents API.
 * Each write carries an idempotency key derived from the order, so a retry
 * after a crash or a timeout gets the same PaymentIntent back instead of a
 * second charge. Stripe keeps keys for 24 hours; after that we rely on the
 * PaymentIntent id stored on the order, which is reused and never recreated.
 */
import type Stripe from 'stripe';

export interface PaymentIntentOrder {
  _id: string;
  totalMinor: number;
  currency: string;
  customer: {
    name: string;
    email: string;
    address: { line1: string; line2?: string | null; city: string; state: string; postalCode: string; country: string };
  };
}

export const paymentIntentKey = (orderId: string): string => `order-${orderId}-payment-intent`;

/**
 * Creates (or, on retry, gets back) the one PaymentIntent of an order.
 * `limits` bounds this one call (a checkout waiting for it gives up sooner
 * than a job would, and leaves the retries to the job).
 */
export async function createOrderPaymentIntent(
  stripe: Stripe,
  order: PaymentIntentOrder,
  limits: Pick<Stripe.RequestOptions, 'timeout' | 'maxNetworkRetries'> = {},
): Promise<Stripe.PaymentIntent> {
  const { address } = order.customer;
  return stripe.paymentIntents.create(
    {
      amount: order.totalMinor,
      currency: order.currency,
      // Cards are confirmed without redirects; the storefront confirms with the client secret.
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      // India's export rules: a description plus the customer's name and address.
      description: `Order ${order._id}`,
      receipt_email: order.customer.email,
      shipping: {
        name: order.customer.name,
        address: {
          line1: address.line1,
          ...(address.line2 ? { line2: address.line2 } : {}),
          city: address.city,
          state: address.state,
          postal_code: address.postalCode,
          country: address.country,
        },
      },
      metadata: { orderId: order._id },
    },
    { ...limits, idempotencyKey: paymentIntentKey(order._id) },
  );
}

export async function retrievePaymentIntent(stripe: Stripe, paymentIntentId: string): Promise<Stripe.PaymentIntent> {
  return stripe.paymentIntents.retrieve(paymentIntentId);
}

/** Stripe's answer for an id it does not know (404 resource_missing): nothing to cancel, nothing paid. Never worth a retry. */
export function isNoSuchObject(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string };
  return e.statusCode === 404 || e.code === 'resource_missing';
}

/** The PaymentIntent, or null when Stripe does not know it (404 resource_missing). */
export async function retrievePaymentIntentIfKnown(stripe: Stripe, paymentIntentId: string): Promise<Stripe.PaymentIntent | null> {
  try {
    return await stripe.paymentIntents.retrieve(paymentIntentId);
  } catch (err) {
    if (isNoSuchObject(err)) return null;
    throw err;
  }
}

export const refundKey = (orderId: string): string => `order-${orderId}-refund`;

/**
 * Cancels the order's PaymentIntent so it can no longer be paid. Idempotent:
 * an intent that is already canceled counts as done. Returns the intent as it
 * is afterwards; status 'succeeded' means the money arrived first and the
 * caller must honour or refund it. Null when Stripe does not know the intent.
 */
export async function cancelPaymentIntent(stripe: Stripe, paymentIntentId: string): Promise<Stripe.PaymentIntent | null> {
  const current = await retrievePaymentIntentIfKnown(stripe, paymentIntentId);
  if (!current || current.status === 'canceled' || current.status === 'succeeded') return current;
  try {
    return await stripe.paymentIntents.cancel(paymentIntentId, undefined, { idempotencyKey: `cancel-${paymentIntentId}` });
  } catch (err) {
    // Lost a race with a payment or another cancel: the intent's state decides.
    if ((err as { code?: string }).code === 'payment_intent_unexpected_state') {
      return stripe.paymentIntents.retrieve(paymentIntentId);
    }
    throw err;
  }
}

/** Refunds an order's payment in full, once (the key is derived from the order). */
export async function refundOrderPayment(stripe: Stripe, orderId: string, paymentIntentId: string): Promise<Stripe.Refund> {
  return stripe.refunds.create(
    { payment_intent: paymentIntentId, reason: 'requested_by_customer', metadata: { orderId } },
    { idempotencyKey: refundKey(orderId) },
  );
}
