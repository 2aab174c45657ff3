/**
 * A validly signed event is still only a claim. Whoever holds the webhook
 * secret (or a replay from a test account) can sign one with the wrong
 * amount, or for a PaymentIntent never paid. The order must move only on
 * what Stripe itself says, and the auditor must judge on that evidence: an
 * order that is fine audits clean whatever events arrived, and a false event
 * is never recorded as a payment.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../prisma-free-models';
import { auditInvariants } from '../../src/server/audit/invariants';
import { expireOrder } from '../../src/server/orders/close-order';
import { finalizeOrder } from '../../src/server/orders/finalize-order';
import { placeOrder } from '../../src/server/orders/place-order';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { processWebhookEvent } from '../../src/server/webhooks/process-event';
import { cartWith, customer, env, getOrder, manualDeps, newKey, seedProduct, signedEvent, sim, simEvent } from '../helpers';

let m: ReturnType<typeof manualDeps>;
beforeAll(() => {
  m = manualDeps();
});
afterAll(async () => {
  await m.close();
});

async function pendingByHand(sku: string, holdTimeMs: number) {
  const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
  await reserveOrder(placed.orderId, { ...m.deps, holdTimeMs });
  await requestPayment(placed.orderId, m.deps);
  return getOrder(placed.orderId);
}

/** Receives and processes a signed success event claiming `claim` about the PaymentIntent. */
async function deliverClaim(paymentIntentId: string, orderId: string, claim: Record<string, unknown>): Promise<string> {
  const id = `evt_false_${randomBytes(6).toString('hex')}`;
  const object = { id: paymentIntentId, object: 'payment_intent', status: 'succeeded', currency: 'inr', metadata: { orderId }, ...claim };
  const { body, signature } = signedEvent(m.deps, { id, object: 'event', type: 'payment_intent.succeeded', data: { object } });
  expect((await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') })).status).toBe(200);
  await processWebhookEvent(id, m.deps);
  return id;
}

const audit = (orderId: string, sku: string, withStripe: boolean) =>
  auditInvariants({ stuckAfterMs: 1, orderIds: [orderId], skus: [sku], ...(withStripe ? { stripe: m.deps.stripe } : {}) });

describe('signed but false payment events', () => {
  it('pays the order on Stripe’s word when the event claims a wrong amount, and records Stripe’s figures', async () => {
    const sku = await seedProduct(1);
    const order = await pendingByHand(sku, 15 * 60_000);
    await sim.configure({ hold: true });
    try {
      await sim.pay(order.paymentIntentId!);
      // The false claim arrives first: Stripe's answer, not the claim, is what the order records.
      const falseId = await deliverClaim(order.paymentIntentId!, order._id, { amount: order.totalMinor + 100, amount_received: order.totalMinor + 100 });
      const paid = await getOrder(order._id);
      expect(paid.state).toBe('CONFIRMED');
      expect(paid.payment).toMatchObject({ succeededEventId: falseId, amountReceived: order.totalMinor, currency: 'inr' });
      expect((await WebhookEvent.findById(falseId).lean())?.verified).toMatchObject({ status: 'succeeded', amountReceived: order.totalMinor });
      expect(await finalizeOrder(order._id)).toBe('already-done');
      // The real event, late: one more duplicate.
      const real = await simEvent('payment_intent.succeeded', order.paymentIntentId!);
      const { body, signature } = signedEvent(m.deps, real);
      await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
      expect(await processWebhookEvent(real.id, m.deps)).toBe('already-done');
    } finally {
      await sim.configure({ hold: false });
    }
    await new Promise((r) => setTimeout(r, 5));
    for (const withStripe of [false, true]) expect((await audit(order._id, sku, withStripe)).violations).toEqual([]);
  });

  it('changes nothing for an intent never paid, and the auditor does not take the claim for a payment', async () => {
    const sku = await seedProduct(1);
    const order = await pendingByHand(sku, 1);
    const falseId = await deliverClaim(order.paymentIntentId!, order._id, { amount: order.totalMinor, amount_received: order.totalMinor });
    expect((await getOrder(order._id)).state).toBe('PAYMENT_PENDING');
    expect((await WebhookEvent.findById(falseId).lean())?.verified).toMatchObject({ status: 'requires_payment_method' });
    // The hold runs out: an unpaid order expires, its PaymentIntent is cancelled, nothing is owed.
    expect(await expireOrder(order._id, m.deps)).toBe('applied');
    expect((await getOrder(order._id)).state).toBe('EXPIRED');
    await new Promise((r) => setTimeout(r, 5));
    for (const withStripe of [false, true]) expect((await audit(order._id, sku, withStripe)).violations).toEqual([]);
  });

  it('changes nothing for an intent Stripe does not know, and records that', async () => {
    const sku = await seedProduct(1);
    const order = await pendingByHand(sku, 15 * 60_000);
    const falseId = await deliverClaim(`pi_never_${randomBytes(6).toString('hex')}`, order._id, { amount: order.totalMinor, amount_received: order.totalMinor });
    expect((await getOrder(order._id)).state).toBe('PAYMENT_PENDING');
    expect((await WebhookEvent.findById(falseId).lean())?.outcome).toBe('skipped');
  });
});
