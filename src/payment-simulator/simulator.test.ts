/**
 * The simulator as the app sees it: every API call goes through the official
 * `stripe` SDK over real HTTP, and every webhook lands on a local HTTP server
 * that verifies it with `stripe.webhooks.constructEvent` on the raw body.
 * Switches and inspection use the simulator's programmatic controls.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PaymentSimulator } from './server';
import { orderParams, rejection, SECRET, sleep, useSimulator, waitFor, type WebhookReceiver } from './test-support';

let sim: PaymentSimulator;
let receiver: WebhookReceiver;
let stripe: Stripe;
let port: number;

const harness = useSimulator();
beforeAll(() => {
  ({ sim, receiver, stripe, port } = harness);
});

beforeEach(() => {
  // Keep failing-delivery tests fast; the default schedule is exercised by its own test.
  sim.configure({ retry: { attempts: 6, baseDelayMs: 20 } });
});

describe('PaymentIntents through the stripe SDK', () => {
  it('creates and retrieves a PaymentIntent with nested params intact', async () => {
    const created = await stripe.paymentIntents.create(orderParams());
    expect(created.id).toMatch(/^pi_sim_[A-Za-z0-9]{24}$/);
    expect(created).toMatchObject({
      object: 'payment_intent',
      amount: 2599,
      amount_received: 0,
      currency: 'inr',
      status: 'requires_payment_method',
      description: 'Order order-1',
      metadata: { orderId: 'order-1', attempt: '1' },
      receipt_email: 'buyer@example.com',
      livemode: false,
      last_payment_error: null,
      latest_charge: null,
      cancellation_reason: null,
      canceled_at: null,
      shipping: {
        name: 'Asha Rao',
        phone: '+91 98450 00000',
        address: { line1: '12 MG Road', line2: 'Flat 4', city: 'Bengaluru', state: 'KA', postal_code: '560001', country: 'IN' },
      },
    });
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_[A-Za-z0-9]+$`));
    expect(Math.abs(created.created - Date.now() / 1000)).toBeLessThan(5);
    expect(created.lastResponse.requestId).toMatch(/^req_sim_/);

    const fetched = await stripe.paymentIntents.retrieve(created.id);
    const { lastResponse: _a, ...createdBody } = created;
    const { lastResponse: _b, ...fetchedBody } = fetched;
    expect(fetchedBody).toEqual(createdBody);
    expect(fetched.lastResponse.requestId).not.toBe(created.lastResponse.requestId);
  });

  it('creates and confirms in one call with confirm=true', async () => {
    const pi = await stripe.paymentIntents.create({ ...orderParams(), payment_method: 'pm_card_visa', confirm: true });
    expect(pi.status).toBe('succeeded');
    expect(pi.amount_received).toBe(2599);
    const event = await waitFor(() => receiver.events('payment_intent.succeeded')[0], 'succeeded webhook');
    expect((event.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
  });

  it('confirms with pm_card_visa and sends a verified payment_intent.succeeded webhook carrying metadata', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-visa'));
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' }, { idempotencyKey: 'confirm-order-visa' });
    expect(confirmed.status).toBe('succeeded');
    expect(confirmed.amount_received).toBe(2599);
    expect(confirmed.latest_charge).toMatch(/^ch_sim_/);
    expect(confirmed.payment_method).toBe('pm_card_visa');

    const event = await waitFor(() => receiver.events('payment_intent.succeeded')[0], 'succeeded webhook');
    expect(event.id).toMatch(/^evt_sim_/);
    expect(event.object).toBe('event');
    expect(event.livemode).toBe(false);
    // The event's api_version is the Stripe-Version the SDK sent with the confirm call.
    expect(event.api_version).toBe(confirmed.lastResponse.apiVersion);
    expect(event.api_version).toBe(Stripe.API_VERSION);
    expect(event.request).toEqual({ id: confirmed.lastResponse.requestId, idempotency_key: 'confirm-order-visa' });
    const object = event.data.object as Stripe.PaymentIntent;
    expect(object).toMatchObject({ id: pi.id, status: 'succeeded', amount_received: 2599, metadata: { orderId: 'order-visa' } });
    // Nothing else was sent: creation alone is not an event unless extraEvents is on.
    await sim.settle();
    expect(receiver.deliveries.map((d) => d.event?.type)).toEqual(['payment_intent.succeeded']);
  });

  it('pm_card_mastercard also succeeds and the charge can be expanded', async () => {
    const pi = await stripe.paymentIntents.create(orderParams());
    await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_mastercard' });
    const fetched = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    const charge = fetched.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ object: 'charge', status: 'succeeded', amount: 2599, payment_intent: pi.id });
    expect(charge.payment_method_details?.card?.brand).toBe('mastercard');
  });

  it('a declined card throws StripeCardError, leaves the intent retryable and sends payment_intent.payment_failed', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-declined'));
    const err = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.statusCode).toBe(402);
    expect(err.code).toBe('card_declined');
    expect(err.decline_code).toBe('generic_decline');
    expect(err.message).toBe('Your card was declined.');
    expect(err.payment_intent?.id).toBe(pi.id);
    expect(err.payment_intent?.status).toBe('requires_payment_method');
    expect(err.payment_intent?.last_payment_error?.decline_code).toBe('generic_decline');

    const failed = await waitFor(() => receiver.events('payment_intent.payment_failed')[0], 'payment_failed webhook');
    const object = failed.data.object as Stripe.PaymentIntent;
    expect(object.metadata.orderId).toBe('order-declined');
    expect(object.last_payment_error?.code).toBe('card_declined');

    const insufficient = await rejection(
      stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' }),
    );
    expect(insufficient).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(insufficient.decline_code).toBe('insufficient_funds');

    // The customer tries another card: the same intent now succeeds.
    const retried = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
    expect(retried.last_payment_error).toBeNull();
  });

  it('cancels, and refuses to cancel or confirm an intent that is canceled or succeeded', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-cancel'));
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'abandoned' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancellation_reason).toBe('abandoned');
    expect(canceled.canceled_at).toBeGreaterThan(0);
    const event = await waitFor(() => receiver.events('payment_intent.canceled')[0], 'canceled webhook');
    expect((event.data.object as Stripe.PaymentIntent).metadata.orderId).toBe('order-cancel');

    const again = await rejection(stripe.paymentIntents.cancel(pi.id));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again.code).toBe('payment_intent_unexpected_state');
    const confirmCanceled = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' }));
    expect(confirmCanceled.code).toBe('payment_intent_unexpected_state');

    const paid = await stripe.paymentIntents.create({ ...orderParams(), payment_method: 'pm_card_visa', confirm: true });
    const cancelPaid = await rejection(stripe.paymentIntents.cancel(paid.id));
    expect(cancelPaid.statusCode).toBe(400);
    expect(cancelPaid.code).toBe('payment_intent_unexpected_state');
    expect(cancelPaid.payment_intent?.status).toBe('succeeded');
    const confirmPaid = await rejection(stripe.paymentIntents.confirm(paid.id, { payment_method: 'pm_card_visa' }));
    expect(confirmPaid.code).toBe('payment_intent_unexpected_state');
    expect((await stripe.paymentIntents.retrieve(paid.id)).status).toBe('succeeded');
  });
});

describe('refunds', () => {
  it('refunds partially then fully, emits charge.refunded and refund.created, and refuses over-refunds', async () => {
    const unpaid = await stripe.paymentIntents.create(orderParams());
    const notRefundable = await rejection(stripe.refunds.create({ payment_intent: unpaid.id }));
    expect(notRefundable).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(notRefundable.code).toBe('charge_not_refundable');

    const pi = await stripe.paymentIntents.create({ ...orderParams('order-refund'), payment_method: 'pm_card_visa', confirm: true });
    await waitFor(() => receiver.events('payment_intent.succeeded')[0], 'succeeded webhook');

    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, reason: 'requested_by_customer', metadata: { orderId: 'order-refund' } });
    expect(partial).toMatchObject({
      object: 'refund',
      amount: 1000,
      currency: 'inr',
      payment_intent: pi.id,
      charge: pi.latest_charge,
      status: 'succeeded',
      reason: 'requested_by_customer',
      metadata: { orderId: 'order-refund' },
    });
    expect(partial.id).toMatch(/^re_sim_/);
    expect((await stripe.refunds.retrieve(partial.id)).amount).toBe(1000);

    const tooMuch = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 1600 }));
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(tooMuch.code).toBe('amount_too_large');
    expect(tooMuch.param).toBe('amount');

    const rest = await stripe.refunds.create({ payment_intent: pi.id }); // default: what is left
    expect(rest.amount).toBe(1599);

    const already = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    expect(already.code).toBe('charge_already_refunded');

    await sim.settle();
    const refundedEvents = receiver.events('charge.refunded').map((e) => e.data.object as Stripe.Charge);
    expect(refundedEvents.map((c) => [c.amount_refunded, c.refunded])).toEqual([
      [1000, false],
      [2599, true],
    ]);
    expect(refundedEvents[0]).toMatchObject({ id: pi.latest_charge, payment_intent: pi.id, amount: 2599, currency: 'inr' });
    const created = receiver.events('refund.created').map((e) => (e.data.object as Stripe.Refund).id);
    expect(created).toEqual([partial.id, rest.id]);
    expect(typeof pi.latest_charge).toBe('string');
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).amount_refunded).toBe(2599);
  });
});

describe('idempotency', () => {
  it('replays the same key with the same params: one PaymentIntent, one counted request', async () => {
    const first = await stripe.paymentIntents.create(orderParams(), { idempotencyKey: 'create-order-1' });
    const second = await stripe.paymentIntents.create(orderParams(), { idempotencyKey: 'create-order-1' });
    expect(second.id).toBe(first.id);
    expect(second.client_secret).toBe(first.client_secret);
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(sim.paymentIntents()).toHaveLength(1);
    const counts = sim.requestCounts();
    expect(counts.counts['POST /v1/payment_intents']).toBe(1);
    expect(counts.replays).toBe(1);
  });

  it('refuses the same key with different params (StripeIdempotencyError) and creates nothing', async () => {
    await stripe.paymentIntents.create(orderParams(), { idempotencyKey: 'create-order-2' });
    const err = await rejection(stripe.paymentIntents.create({ ...orderParams(), amount: 9999 }, { idempotencyKey: 'create-order-2' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.message).toContain('same parameters');
    // Same key on another endpoint is a misuse too.
    const pi = sim.paymentIntents()[0];
    const other = await rejection(stripe.paymentIntents.cancel(String(pi?.id), {}, { idempotencyKey: 'create-order-2' }));
    expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(sim.paymentIntents()).toHaveLength(1);
    expect(sim.paymentIntents()[0]?.status).toBe('requires_payment_method');
    expect(sim.requestCounts().idempotencyConflicts).toBe(2);
  });

  it('replays a stored decline without charging again, but does not store a validation error', async () => {
    const pi = await stripe.paymentIntents.create(orderParams());
    const first = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: 'pay-1' }));
    const second = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: 'pay-1' }));
    expect(second).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(second.charge).toBe(first.charge);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    await sim.settle();
    expect(sim.events().filter((e) => e.type === 'payment_intent.payment_failed')).toHaveLength(1);

    // Validation failures are not saved: the corrected request may reuse the key.
    const invalid = await rejection(stripe.paymentIntents.create({ amount: 100 } as Stripe.PaymentIntentCreateParams, { idempotencyKey: 'create-3' }));
    expect(invalid.param).toBe('currency');
    const ok = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' }, { idempotencyKey: 'create-3' });
    expect(ok.status).toBe('requires_payment_method');
  });

  it("survives a lost response: the SDK's own retry key gets the stored result, nothing is done twice", async () => {
    sim.configure({ dropNextResponses: 1 });
    const pi = await stripe.paymentIntents.create(orderParams('order-lost'));
    expect(sim.paymentIntents().map((p) => p.id)).toEqual([pi.id]);
    expect(pi.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(pi.lastResponse.idempotencyKey).toMatch(/^stripe-node-retry-/);

    sim.configure({ dropNextResponses: 1 });
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    await sim.settle();
    expect(sim.events().map((e) => e.type)).toEqual(['payment_intent.succeeded']);
    const counts = sim.requestCounts();
    expect(counts.counts['POST /v1/payment_intents']).toBe(1);
    expect(counts.counts['POST /v1/payment_intents/:id/confirm']).toBe(1);
    expect(counts.replays).toBe(2);
  });

  it("answers apiLatencyMs after the work is done, as Stripe's own round trip; 0 answers at once", async () => {
    sim.configure({ apiLatencyMs: 300 });
    try {
      const started = Date.now();
      const pi = await stripe.paymentIntents.create(orderParams('order-far'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      // Done and stored before the answer left.
      expect(sim.paymentIntents().map((p) => p.id)).toContain(pi.id);
    } finally {
      sim.configure({ apiLatencyMs: 0 });
    }
    const started = Date.now();
    await stripe.paymentIntents.create(orderParams('order-near'));
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('does not deduplicate requests without a key', async () => {
    // The SDK keys every POST itself; a raw client without a key creates twice.
    const raw = new Stripe('', {
      host: '127.0.0.1',
      port,
      protocol: 'http',
      authenticator: (request) => {
        request.headers.Authorization = 'Bearer sk_test_raw';
        delete request.headers['Idempotency-Key'];
        return Promise.resolve();
      },
    });
    const a = await raw.paymentIntents.create({ amount: 500, currency: 'usd' });
    const b = await raw.paymentIntents.create({ amount: 500, currency: 'usd' });
    expect(a.id).not.toBe(b.id);
    expect(sim.requestCounts().counts['POST /v1/payment_intents']).toBe(2);
  });
});

describe('webhook delivery', () => {
  async function paidIntent(orderId: string): Promise<Stripe.PaymentIntent> {
    return stripe.paymentIntents.create({ ...orderParams(orderId), payment_method: 'pm_card_visa', confirm: true });
  }

  it('signs with the configured secret; another secret or a stale timestamp is rejected by constructEvent', async () => {
    await paidIntent('order-sig');
    const good = await waitFor(() => receiver.deliveries[0], 'a delivery');
    expect(good.verifyError).toBeUndefined();
    expect(good.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(() => Stripe.webhooks.constructEvent(good.raw, good.signature, 'whsec_some_other_secret')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    // Tampering with one byte of the body breaks the signature.
    expect(() => Stripe.webhooks.constructEvent(good.raw.replace('order-sig', 'order-sih'), good.signature, SECRET)).toThrow(
      /No signatures found/,
    );

    receiver.reset();
    sim.configure({ signWithSecret: 'whsec_forged', retry: { attempts: 1 } });
    await paidIntent('order-forged');
    const forged = await waitFor(() => receiver.deliveries[0], 'forged delivery');
    expect(forged.event).toBeUndefined();
    expect(forged.verifyError).toMatch(/No signatures found matching the expected signature/);
    await sim.settle();
    const forgedRecord = sim.events().at(-1);
    expect(forgedRecord?.deliveries[0]?.attempts.map((a) => a.statusCode)).toEqual([400]);
    expect(forgedRecord?.deliveries[0]?.status).toBe('failed');

    receiver.reset();
    sim.configure({ signWithSecret: null, signatureTimestampOffsetSec: -600 });
    await paidIntent('order-stale');
    const stale = await waitFor(() => receiver.deliveries[0], 'stale delivery');
    expect(stale.verifyError).toMatch(/Timestamp outside the tolerance zone/);
  });

  it('duplicate=3 delivers the same event id three times', async () => {
    sim.configure({ duplicate: 3 });
    await paidIntent('order-dup');
    await waitFor(() => receiver.deliveries.length === 3, 'three deliveries');
    await sim.settle();
    const ids = receiver.events().map((e) => e.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect(receiver.deliveries.every((d) => d.verifyError === undefined)).toBe(true);
    const [record] = sim.events();
    expect(record?.deliveries.map((d) => [d.reason, d.status])).toEqual([
      ['initial', 'succeeded'],
      ['duplicate', 'succeeded'],
      ['duplicate', 'succeeded'],
    ]);
  });

  it('dropNext=1 records the next event but never delivers it', async () => {
    sim.configure({ dropNext: 1 });
    const first = await paidIntent('order-dropped');
    const second = await paidIntent('order-kept');
    await waitFor(() => receiver.deliveries.length >= 1, 'the second event');
    await sim.settle();
    await sleep(50);
    const delivered = receiver.events().map((e) => (e.data.object as Stripe.PaymentIntent).id);
    expect(delivered).toEqual([second.id]);
    const records = sim.events();
    expect(records.map((r) => [(r.event.data.object as { id: string }).id, r.dropped, r.deliveries.length])).toEqual([
      [first.id, true, 0],
      [second.id, false, 1],
    ]);
    expect(sim.config().dropNext).toBe(0);

    // A dropped event can still be delivered on demand.
    const resent = await sim.resend(String(records[0]?.id));
    expect(resent?.status).toBe('succeeded');
    expect(receiver.events().map((e) => e.id)).toContain(records[0]?.id);
  });

  it('hold queues deliveries; flush with reorder sends them newest first', async () => {
    sim.configure({ hold: true, reorder: true });
    const a = await paidIntent('order-a');
    const b = await stripe.paymentIntents.create(orderParams('order-b'));
    await stripe.paymentIntents.cancel(b.id);
    const c = await paidIntent('order-c');
    await sleep(100);
    expect(receiver.deliveries).toHaveLength(0);
    expect(sim.events().flatMap((r) => r.deliveries.map((d) => d.status))).toEqual(['held', 'held', 'held']);

    expect(await sim.flush()).toBe(3);
    await sim.settle();
    const received = receiver.events().map((e) => [e.type, (e.data.object as Stripe.PaymentIntent).id]);
    expect(received).toEqual([
      ['payment_intent.succeeded', c.id],
      ['payment_intent.canceled', b.id],
      ['payment_intent.succeeded', a.id],
    ]);
    expect(received.map(([, id]) => id)).toEqual(sim.events().map((r) => (r.event.data.object as { id: string }).id).reverse());
    expect(await sim.flush()).toBe(0);
  });

  it('hold without reorder flushes in creation order', async () => {
    sim.configure({ hold: true });
    const a = await paidIntent('order-a');
    const b = await paidIntent('order-b');
    expect(await sim.flush()).toBe(2);
    await sim.settle();
    expect(receiver.events().map((e) => (e.data.object as Stripe.PaymentIntent).id)).toEqual([a.id, b.id]);
  });

  it('retries a receiver answering 500 twice until it answers 2xx, recording every attempt', async () => {
    receiver.respond = (n) => (n <= 2 ? 500 : 200);
    await paidIntent('order-retry');
    await waitFor(() => receiver.deliveries.length === 3, 'three attempts');
    await sim.settle();
    const ids = receiver.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(1);
    const delivery = sim.events()[0]?.deliveries[0];
    expect(delivery?.status).toBe('succeeded');
    expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    // Backoff doubles from baseDelayMs (20 ms): the gaps are at least 20 and 40 ms.
    const [t1, t2, t3] = receiver.deliveries.map((d) => d.receivedAt);
    expect(Number(t2) - Number(t1)).toBeGreaterThanOrEqual(15);
    expect(Number(t3) - Number(t2)).toBeGreaterThanOrEqual(35);
    // Each retry is signed afresh and still verifies.
    expect(receiver.deliveries.every((d) => d.verifyError === undefined)).toBe(true);
  });

  it('gives up after retry.attempts and marks the delivery failed', async () => {
    receiver.respond = () => 503;
    sim.configure({ retry: { attempts: 3, baseDelayMs: 5 } });
    await paidIntent('order-down');
    await waitFor(() => sim.events()[0]?.deliveries[0]?.status === 'failed', 'the delivery to fail');
    expect(receiver.deliveries).toHaveLength(3);
    expect(sim.events()[0]?.deliveries[0]?.attempts.map((a) => a.statusCode)).toEqual([503, 503, 503]);
  });

  it('delivers asynchronously after delayMs', async () => {
    sim.configure({ delayMs: 250 });
    const started = Date.now();
    await paidIntent('order-slow');
    await sleep(80);
    expect(receiver.deliveries).toHaveLength(0);
    const delivery = await waitFor(() => receiver.deliveries[0], 'the delayed delivery');
    expect(delivery.receivedAt - started).toBeGreaterThanOrEqual(240);
  });

  it('extraEvents adds the companion events Stripe also sends', async () => {
    sim.configure({ extraEvents: true });
    await paidIntent('order-extra');
    await sim.settle();
    expect(sim.events().map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
  });
});

describe('errors the app must handle', () => {
  it('answers bad params with 400 naming the param', async () => {
    const cases: Array<[Stripe.PaymentIntentCreateParams, string, string | undefined]> = [
      [{ currency: 'usd' } as Stripe.PaymentIntentCreateParams, 'amount', 'parameter_missing'],
      [{ amount: 0, currency: 'usd' }, 'amount', 'parameter_invalid_integer'],
      [{ amount: 'ten' as unknown as number, currency: 'usd' }, 'amount', 'parameter_invalid_integer'],
      [{ amount: 10.5, currency: 'usd' }, 'amount', 'parameter_invalid_integer'],
      [{ amount: 100 } as Stripe.PaymentIntentCreateParams, 'currency', 'parameter_missing'],
      [{ amount: 100, currency: 'dollars' }, 'currency', undefined],
      [{ amount: 100, currency: 'usd', metadata: { orderId: { nested: 'x' } as unknown as string } }, 'metadata[orderId]', undefined],
      [{ amount: 100, currency: 'usd', shipping: { address: { line1: 'x' } } as Stripe.PaymentIntentCreateParams.Shipping }, 'shipping[name]', 'parameter_missing'],
      [{ amount: 100, currency: 'usd', colour: 'red' } as Stripe.PaymentIntentCreateParams, 'colour', 'parameter_unknown'],
    ];
    for (const [params, param, code] of cases) {
      const err = await rejection(stripe.paymentIntents.create(params));
      expect(err, JSON.stringify(params)).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.statusCode).toBe(400);
      expect(err.param, JSON.stringify(params)).toBe(param);
      expect(err.code, JSON.stringify(params)).toBe(code);
      expect(err.message).toBeTruthy();
    }
    expect(sim.paymentIntents()).toHaveLength(0);
  });

  it('answers unknown objects with resource_missing', async () => {
    const missing = await rejection(stripe.paymentIntents.retrieve('pi_sim_doesnotexist'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
    expect(missing.param).toBe('intent');

    const pi = await stripe.paymentIntents.create(orderParams());
    const badMethod = await rejection(stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_unicorn' }));
    expect(badMethod.statusCode).toBe(400);
    expect(badMethod.code).toBe('resource_missing');
    expect(badMethod.param).toBe('payment_method');
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_payment_method');

    const badRefund = await rejection(stripe.refunds.create({ payment_intent: 'pi_sim_nope' }));
    expect(badRefund.code).toBe('resource_missing');
    expect(badRefund.param).toBe('payment_intent');
  });

  it('answers 401 without a valid test key', async () => {
    // (A publishable key is a valid key with fewer rights: browser-access.test.ts.)
    const wrongKey = new Stripe('xk_test_not_a_key', { host: '127.0.0.1', port, protocol: 'http' });
    const wrong = await rejection(wrongKey.paymentIntents.create({ amount: 100, currency: 'usd' }));
    expect(wrong).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.message).toMatch(/Invalid API Key/);

    // An authenticator that adds nothing: the request carries no Authorization header at all.
    const anonymous = new Stripe('', { host: '127.0.0.1', port, protocol: 'http', authenticator: () => Promise.resolve() });
    const none = await rejection(anonymous.paymentIntents.retrieve('pi_sim_x'));
    expect(none).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(none.message).toMatch(/You did not provide an API key/);
    expect(none.requestId).toMatch(/^req_sim_/);

    const live = new Stripe('sk_live_realmoney', { host: '127.0.0.1', port, protocol: 'http' });
    expect(await rejection(live.paymentIntents.create({ amount: 100, currency: 'usd' }))).toBeInstanceOf(
      Stripe.errors.StripeAuthenticationError,
    );
    expect(sim.paymentIntents()).toHaveLength(0);
  });
});

describe('control API over HTTP', () => {
  it('exposes health, config, intents by metadata, pay, events, resend, counts and reset', async () => {
    const base = `http://127.0.0.1:${port}/_sim`;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
    };

    expect((await call('GET', '/health')).body).toEqual({ ok: true });
    const cfg = await call('POST', '/config', { delayMs: 0, retry: { attempts: 2 } });
    expect(cfg.body).toMatchObject({ retry: { attempts: 2, baseDelayMs: 20 }, webhookUrl: receiver.url });
    expect((await call('POST', '/config', { dupicate: 3 })).status).toBe(400);

    const pi = await stripe.paymentIntents.create(orderParams('order-ctl'));
    await stripe.paymentIntents.create(orderParams('order-other'));
    const found = await call('GET', '/payment_intents?metadata[orderId]=order-ctl');
    expect(found.body.map((p) => (p as { id: string }).id)).toEqual([pi.id]);

    const declined = await call('POST', `/payment_intents/${pi.id}/pay`, { paymentMethod: 'pm_card_chargeDeclined' });
    expect(declined.status).toBe(402);
    expect(declined.body).toMatchObject({ error: { code: 'card_declined' } });
    const paid = await call('POST', `/payment_intents/${pi.id}/pay`, {});
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ id: pi.id, status: 'succeeded' });
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');

    const succeeded = await waitFor(() => receiver.events('payment_intent.succeeded')[0], 'succeeded webhook');
    await sim.settle();
    const events = await call('GET', '/events');
    expect(events.body.map((e) => (e as { type: string }).type)).toEqual(['payment_intent.payment_failed', 'payment_intent.succeeded']);
    const resent = await call('POST', `/events/${succeeded.id}/resend`);
    expect(resent.body).toMatchObject({ reason: 'resend', status: 'succeeded' });
    expect(receiver.events('payment_intent.succeeded').map((e) => e.id)).toEqual([succeeded.id, succeeded.id]);
    expect((await stripe.events.retrieve(succeeded.id)).type).toBe('payment_intent.succeeded');

    const counts = await call('GET', '/requests');
    expect(counts.body).toMatchObject({ counts: { 'POST /v1/payment_intents': 2, 'GET /v1/payment_intents/:id': 1 }, replays: 0 });

    await call('POST', '/config', { hold: true });
    await stripe.paymentIntents.cancel((await stripe.paymentIntents.create(orderParams())).id);
    expect((await call('POST', '/flush')).body).toEqual({ delivered: 1 });

    expect((await call('POST', '/reset')).status).toBe(200);
    expect((await call('GET', '/payment_intents')).body).toEqual([]);
    expect((await call('GET', '/events')).body).toEqual([]);
    expect((await call('GET', '/config')).body).toMatchObject({ hold: false, retry: { attempts: 6, baseDelayMs: 250 } });
  });
});

describe('delivery timings (GET /_sim/deliveries)', () => {
  it('lists each attempt since a time, without payloads, and flags the receiver timing out', async () => {
    const base = `http://127.0.0.1:${port}/_sim`;
    const deliveries = async (since: string) => {
      const res = await fetch(`${base}/deliveries?since=${encodeURIComponent(since)}`);
      return { status: res.status, rows: (await res.json()) as Record<string, unknown>[] };
    };
    // A receiver that never answers, so the sender's timeout is what ends the attempt.
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const before = Date.now();
      sim.configure({ duplicate: 2 });
      const paid = await stripe.paymentIntents.create({ ...orderParams('order-timed'), payment_method: 'pm_card_visa', confirm: true });
      await sim.settle();
      const answered = await deliveries(String(before));
      expect(answered.rows).toHaveLength(2);
      expect(answered.rows.map((r) => [r.type, r.reason, r.statusCode, r.timedOut])).toEqual([
        ['payment_intent.succeeded', 'initial', 200, false],
        ['payment_intent.succeeded', 'duplicate', 200, false],
      ]);
      expect(answered.rows[0]).not.toHaveProperty('event');
      expect(typeof answered.rows[0]?.durationMs).toBe('number');
      expect(paid.status).toBe('succeeded');

      const later = new Date().toISOString();
      sim.configure({ duplicate: 1, webhookUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, retry: { attempts: 1, timeoutMs: 100 } });
      await stripe.paymentIntents.create({ ...orderParams('order-silent'), payment_method: 'pm_card_visa', confirm: true });
      await sim.settle();
      const timedOut = await deliveries(later);
      expect(timedOut.rows.map((r) => [r.statusCode, r.timedOut])).toEqual([[null, true]]);
      expect(Number(timedOut.rows[0]?.durationMs)).toBeGreaterThanOrEqual(90);
      expect((await deliveries('not a time')).status).toBe(400);
    } finally {
      sim.configure({ webhookUrl: receiver.url });
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
