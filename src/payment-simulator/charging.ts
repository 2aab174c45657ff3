/**
 * The charge behind a PaymentIntent confirmation, succeeded or declined, and
 * the events it causes.
 */
import { executionError } from './errors';
import { newId, nowSeconds } from './ids';
import type { SimStore } from './store';
import type { TestCard } from './test-cards';
import type { Charge, PaymentIntent, PaymentMethodSnapshot, RequestContext } from './types';

/**
 * Charges the card now. Success: the intent is `succeeded` with a succeeded
 * charge (and, for pm_card_createDispute, a dispute scheduled). Decline: a failed charge, the intent back to
 * `requires_payment_method` (so the customer can try another card), and a
 * thrown 402 card_error carrying the intent, as Stripe answers.
 */
export function chargeIntent(
  store: SimStore,
  intent: PaymentIntent,
  paymentMethod: string,
  testCard: TestCard,
  ctx: RequestContext,
): void {
  const created = nowSeconds();
  const { decline } = testCard;
  const charge: Charge = {
    id: newId.charge(),
    object: 'charge',
    amount: intent.amount,
    amount_captured: decline ? 0 : intent.amount,
    amount_refunded: 0,
    balance_transaction: null,
    captured: !decline,
    created,
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    disputed: false,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    livemode: false,
    metadata: { ...intent.metadata },
    outcome: decline
      ? {
          network_status: 'declined_by_network',
          reason: decline.declineCode,
          risk_level: 'normal',
          seller_message: 'The bank did not return any further details with this decline.',
          type: 'issuer_declined',
        }
      : {
          network_status: 'approved_by_network',
          reason: null,
          risk_level: 'normal',
          seller_message: 'Payment complete.',
          type: 'authorized',
        },
    paid: !decline,
    payment_intent: intent.id,
    payment_method: paymentMethod,
    payment_method_details: { type: 'card', card: { ...testCard.card } },
    receipt_email: intent.receipt_email,
    refunded: false,
    shipping: intent.shipping ? structuredClone(intent.shipping) : null,
    status: decline ? 'failed' : 'succeeded',
  };
  store.save(charge);
  intent.latest_charge = charge.id;
  // Whatever the outcome, nothing is left for the customer to do.
  intent.next_action = null;

  if (!decline) {
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    intent.payment_method = paymentMethod;
    intent.last_payment_error = null;
    if (store.extraEvents()) store.emit('charge.succeeded', charge, ctx);
    store.emit('payment_intent.succeeded', intent, ctx);
    if (testCard.disputed) store.schedule({ kind: 'dispute.open', chargeId: charge.id, apiVersion: ctx.apiVersion });
    return;
  }

  const method = paymentMethodSnapshot(paymentMethod, testCard, created);
  const doc_url = `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`;
  // Stripe detaches a declined method so the customer has to supply another one.
  intent.status = 'requires_payment_method';
  intent.payment_method = null;
  intent.last_payment_error = {
    type: 'card_error',
    code: decline.code,
    decline_code: decline.declineCode,
    message: decline.message,
    doc_url,
    charge: charge.id,
    payment_method: method,
  };
  if (store.extraEvents()) store.emit('charge.failed', charge, ctx);
  store.emit('payment_intent.payment_failed', intent, ctx);
  throw executionError(402, {
    type: 'card_error',
    code: decline.code,
    decline_code: decline.declineCode,
    message: decline.message,
    charge: charge.id,
    payment_intent: store.presentIntent(intent, new Set()),
    payment_method: method,
  });
}

/** The PaymentMethod as errors and `last_payment_error` show it. */
export function paymentMethodSnapshot(paymentMethod: string, testCard: TestCard, created = nowSeconds()): PaymentMethodSnapshot {
  return { id: paymentMethod, object: 'payment_method', type: 'card', card: { ...testCard.card }, created, livemode: false };
}
