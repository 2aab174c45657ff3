/**
 * Refund and dispute events as Stripe sends them, each received over HTTP
 * and verified with the stripe SDK's constructEvent: a refund that succeeds,
 * one that fails later (pm_card_refundFail) and a payment disputed later
 * (pm_card_createDispute).
 */
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigPatchError, DEFAULT_ASYNC_DELAY_MS } from './config';
import type { PaymentSimulator } from './server';
import { orderParams, rejection, useSimulator, waitFor, type WebhookReceiver } from './test-support';

let sim: PaymentSimulator;
let receiver: WebhookReceiver;
let stripe: Stripe;

const harness = useSimulator();
beforeAll(() => {
  ({ sim, receiver, stripe } = harness);
});

async function paid(orderId: string, paymentMethod: string): Promise<Stripe.PaymentIntent> {
  const pi = await stripe.paymentIntents.create({ ...orderParams(orderId), payment_method: paymentMethod, confirm: true });
  expect(pi.status).toBe('succeeded');
  return pi;
}

/** The one verified event of this type, once it has arrived. */
function eventOf(type: string, timeoutMs = 5000): Promise<Stripe.Event> {
  return waitFor(() => receiver.events(type)[0], `a ${type} webhook`, timeoutMs);
}

describe('a refund that succeeds', () => {
  it('sends charge.refunded (the charge with its refunds) and refund.created (the refund with its metadata)', async () => {
    const pi = await paid('order-r1', 'pm_card_visa');
    const refund = await stripe.refunds.create(
      { payment_intent: pi.id, reason: 'requested_by_customer', metadata: { orderId: 'order-r1' } },
      { idempotencyKey: 'refund-order-r1' },
    );
    expect(refund).toMatchObject({ status: 'succeeded', amount: 2599, metadata: { orderId: 'order-r1' } });

    const refundedEvent = await eventOf('charge.refunded');
    const charge = refundedEvent.data.object as Stripe.Charge;
    expect(charge).toMatchObject({
      object: 'charge',
      id: pi.latest_charge,
      payment_intent: pi.id,
      amount: 2599,
      amount_refunded: 2599,
      refunded: true,
      disputed: false,
      // Stripe copies the intent's metadata onto the charge when it is confirmed.
      metadata: { orderId: 'order-r1', attempt: '1' },
    });
    expect(charge.refunds).toMatchObject({ object: 'list', has_more: false, url: `/v1/charges/${charge.id}/refunds` });
    expect(charge.refunds?.data.map((r) => [r.id, r.status, r.amount])).toEqual([[refund.id, 'succeeded', 2599]]);
    expect(refundedEvent.request).toEqual({ id: refund.lastResponse.requestId, idempotency_key: 'refund-order-r1' });

    const createdEvent = await eventOf('refund.created');
    expect(createdEvent.data.object).toMatchObject({
      object: 'refund',
      id: refund.id,
      status: 'succeeded',
      amount: 2599,
      charge: charge.id,
      payment_intent: pi.id,
      reason: 'requested_by_customer',
      metadata: { orderId: 'order-r1' },
    });
    expect(createdEvent.api_version).toBe(Stripe.API_VERSION);

    // Charges leave their refunds out unless asked, as in Stripe's API since 2022-11-15.
    expect((await stripe.charges.retrieve(charge.id)).refunds).toBeUndefined();
    expect((await stripe.charges.retrieve(charge.id, { expand: ['refunds'] })).refunds?.data.map((r) => r.id)).toEqual([refund.id]);
    await sim.settle();
    expect(receiver.events().map((e) => e.type)).toEqual(['payment_intent.succeeded', 'charge.refunded', 'refund.created']);
  });
});

describe('pm_card_refundFail', () => {
  it('starts the refund succeeded, then fails it: refund.updated and refund.failed, and the charge is no longer refunded', async () => {
    const pi = await paid('order-rf', 'pm_card_refundFail');
    const beforeRefund = Date.now();
    const refund = await stripe.refunds.create({ payment_intent: pi.id, metadata: { orderId: 'order-rf' } });
    // Stripe's docs for this card: the refund appears successful at first.
    expect(refund.status).toBe('succeeded');
    expect((await eventOf('charge.refunded')).data.object).toMatchObject({ amount_refunded: 2599, refunded: true });
    expect((await eventOf('refund.created')).data.object).toMatchObject({ id: refund.id, status: 'succeeded' });

    const failedEvent = await eventOf('refund.failed');
    expect(Date.now() - beforeRefund).toBeGreaterThanOrEqual(DEFAULT_ASYNC_DELAY_MS - 5); // timers never fire early
    const updatedEvent = await eventOf('refund.updated');
    for (const event of [updatedEvent, failedEvent]) {
      expect(event.data.object).toMatchObject({
        object: 'refund',
        id: refund.id,
        status: 'failed',
        failure_reason: 'expired_or_canceled_card',
        amount: 2599,
        charge: pi.latest_charge,
        payment_intent: pi.id,
        metadata: { orderId: 'order-rf' },
      });
      // Nobody made a request for this change; its version is that of the refund call.
      expect(event.request).toEqual({ id: null, idempotency_key: null });
      expect(event.api_version).toBe(Stripe.API_VERSION);
    }
    expect(updatedEvent.data.previous_attributes).toEqual({ status: 'succeeded', failure_reason: null });

    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false });
    await sim.settle();
    expect(receiver.events().map((e) => e.type)).toEqual([
      'payment_intent.succeeded',
      'charge.refunded',
      'refund.created',
      'refund.updated',
      'refund.failed',
    ]);

    // The money is back on the charge, so it can be refunded again (and, with this card, fail again).
    expect((await stripe.refunds.create({ payment_intent: pi.id, amount: 500 })).status).toBe('succeeded');
  });
});

describe('pm_card_createDispute', () => {
  it('succeeds, then opens a fraudulent dispute: charge.dispute.created, a disputed charge, no more refunds', async () => {
    const pi = await paid('order-dp', 'pm_card_createDispute');
    const event = await eventOf('charge.dispute.created');
    const dispute = event.data.object as Stripe.Dispute;
    expect(dispute.id).toMatch(/^dp_sim_[A-Za-z0-9]{24}$/);
    expect(dispute).toMatchObject({
      object: 'dispute',
      amount: 2599,
      currency: 'inr',
      charge: pi.latest_charge,
      payment_intent: pi.id,
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      balance_transactions: [],
      evidence_details: { has_evidence: false, past_due: false, submission_count: 0 },
      payment_method_details: { type: 'card', card: { brand: 'visa', case_type: 'chargeback' } },
    });
    expect(dispute.evidence_details.due_by).toBeGreaterThan(dispute.created);
    expect(event.request).toEqual({ id: null, idempotency_key: null });

    const { lastResponse: _, ...fetched } = await stripe.disputes.retrieve(dispute.id);
    expect(fetched).toEqual(dispute);
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).disputed).toBe(true);
    const refused = await rejection(stripe.refunds.create({ payment_intent: pi.id }));
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(refused.code).toBe('charge_disputed');
    const missing = await rejection(stripe.disputes.retrieve('dp_sim_nope'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');

    await sim.settle();
    expect(receiver.events().map((e) => e.type)).toEqual(['payment_intent.succeeded', 'charge.dispute.created']);
  });

  it('is not disputed when the intent was paid with an ordinary card', async () => {
    sim.configure({ asyncDelayMs: 0 });
    await paid('order-plain', 'pm_card_visa');
    const disputed = await paid('order-disputed', 'pm_card_createDispute');
    const event = await eventOf('charge.dispute.created');
    expect((event.data.object as Stripe.Dispute).payment_intent).toBe(disputed.id);
    await sim.settle();
    expect(receiver.events('charge.dispute.created')).toHaveLength(1);
  });
});

describe('asyncDelayMs', () => {
  it('is validated like the other switches, and settle() waits for what it has scheduled', async () => {
    expect(sim.config().asyncDelayMs).toBe(DEFAULT_ASYNC_DELAY_MS);
    for (const bad of [-1, 1.5, 'soon', null, 600_001]) {
      expect(() => sim.configure({ asyncDelayMs: bad as number })).toThrow(ConfigPatchError);
    }
    sim.configure({ asyncDelayMs: 1500 });
    await paid('order-settle', 'pm_card_createDispute');
    expect(sim.events({ type: 'charge.dispute.created' })).toHaveLength(0);
    expect(await sim.settle()).toBe(true);
    expect(sim.events({ type: 'charge.dispute.created' })).toHaveLength(1);
    expect(receiver.events('charge.dispute.created')).toHaveLength(1);
  });

  it('reset() cancels what was scheduled', async () => {
    sim.configure({ asyncDelayMs: 100 });
    await paid('order-forgotten', 'pm_card_createDispute');
    sim.reset();
    receiver.reset();
    sim.configure({ asyncDelayMs: 100 });
    const kept = await paid('order-kept', 'pm_card_createDispute');
    // The forgotten dispute was due first; had it survived the reset it would have arrived first.
    const event = await eventOf('charge.dispute.created');
    expect((event.data.object as Stripe.Dispute).payment_intent).toBe(kept.id);
    await sim.settle();
    expect(sim.events({ type: 'charge.dispute.created' })).toHaveLength(1);
  });

  it('extraEvents adds charge.refund.updated and charge.dispute.funds_withdrawn', async () => {
    sim.configure({ extraEvents: true, asyncDelayMs: 0 });
    const refundFail = await paid('order-x1', 'pm_card_refundFail');
    await stripe.refunds.create({ payment_intent: refundFail.id });
    await paid('order-x2', 'pm_card_createDispute');
    await sim.settle();
    const types = sim.events().map((e) => e.type);
    expect(types).toContain('charge.refund.updated');
    expect(types).toContain('charge.dispute.funds_withdrawn');
    expect(types.indexOf('charge.refund.updated')).toBeLessThan(types.indexOf('refund.failed'));
  });
});
