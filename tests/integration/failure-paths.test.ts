/**
 * Every failure path of the order lifecycle, driven step by step (queues under
 * a prefix no worker consumes, simulator deliveries held) so each interleaving
 * is the one the test names: expiry, cancel, late payment accepted or
 * refunded, amount mismatch, and events in every order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Order } from '../../prisma-free-models';
import { RetryLaterError } from '../../src/server/errors';
import { dropSale, releaseLines } from '../../src/server/inventory/stock';
import { cancelOrder, expireOrder, settleClosedOrder } from '../../src/server/orders/close-order';
import { finalizeOrder } from '../../src/server/orders/finalize-order';
import { placeOrder } from '../../src/server/orders/place-order';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { isLegalHistory } from '../../src/server/orders/state-machine';
import { createOrderPaymentIntent, refundOrderPayment } from '../../src/server/payments/payment-intents';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { processWebhookEvent } from '../../src/server/webhooks/process-event';
import { asList, cartWith, customer, env, expectNoViolations, getOrder, manualDeps, newKey, seedProduct as seedAnyProduct, signedEvent, sim, simEvent, stockOf } from '../helpers';

let m: ReturnType<typeof manualDeps>;

/** The products this file made: the last test checks their stock (other files' run at the same time). */
const seeded: string[] = [];
async function seedProduct(stock: number, priceMinor?: number): Promise<string> {
  const sku = await seedAnyProduct(stock, priceMinor);
  seeded.push(sku);
  return sku;
}
beforeAll(async () => {
  m = manualDeps();
  await sim.configure({ hold: true });
});
afterAll(async () => {
  await sim.configure({ hold: false });
  await m.close();
});

/** Holds the stock and creates the PaymentIntent, as the worker would. */
async function pendingOrder(sku: string, qty = 1, holdTimeMs = 60_000) {
  const placed = await placeOrder({ cartId: await cartWith([{ sku, qty }]), customer, idempotencyKey: newKey() }, m.deps);
  await reserveOrder(placed.orderId, { ...m.deps, holdTimeMs });
  await requestPayment(placed.orderId, m.deps);
  const order = await getOrder(placed.orderId);
  expect(order.state).toBe('PAYMENT_PENDING');
  return { ...placed, order };
}

/** Webhook intake and processing of one simulator event, as route + worker would. */
async function deliver(event: unknown) {
  const { body, signature } = signedEvent(m.deps, event);
  const intake = await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
  expect(intake.status).toBe(200);
  return processWebhookEvent((event as { id: string }).id, m.deps);
}

async function intentStatus(id: string): Promise<string> {
  return (await m.deps.stripe.paymentIntents.retrieve(id)).status;
}

const expectConserved = async (sku: string) => {
  const p = await stockOf(sku);
  expect(p.available + p.reserved + p.sold).toBe(p.initialStock);
  expect(p.reserved).toBe(p.holds.reduce((s, h) => s + h.qty, 0));
  return p;
};

describe('expiry', () => {
  it('releases an unpaid reservation after the hold time and cancels the PaymentIntent, once', async () => {
    const sku = await seedProduct(3);
    // A hold long enough that a busy machine still asks before it ends.
    const { orderId, order } = await pendingOrder(sku, 2, 3_000);
    // Too early: refused with a retryable error, nothing changes.
    await expect(expireOrder(orderId, m.deps)).rejects.toBeInstanceOf(RetryLaterError);
    expect((await getOrder(orderId)).state).toBe('PAYMENT_PENDING');
    expect(await m.queues.queues.expiry.getJob(`expire-${orderId}`)).toBeTruthy();

    const ends = (await getOrder(orderId)).holdExpiresAt?.getTime() ?? Date.now() + 3_000;
    await new Promise((r) => setTimeout(r, Math.max(0, ends - Date.now()) + 50));
    const runs = await Promise.all([expireOrder(orderId, m.deps), expireOrder(orderId, m.deps), expireOrder(orderId, m.deps)]);
    expect(runs.filter((r) => r === 'applied')).toHaveLength(1);
    expect(await expireOrder(orderId, m.deps)).toBe('skipped');

    const expired = await getOrder(orderId);
    expect(expired.state).toBe('EXPIRED');
    expect(expired.closeReason).toMatch(/not received in time/);
    expect(expired.pendingRelease).toBeUndefined();
    expect(expired.pendingIntentCancel).toBeUndefined();
    expect(await intentStatus(order.paymentIntentId!)).toBe('canceled');
    expect(await expectConserved(sku)).toMatchObject({ available: 3, reserved: 0, sold: 0 });
    expect(isLegalHistory(expired.history, 'EXPIRED')).toBe(true);
  });
});

describe('cancel', () => {
  it('cancels before payment: stock back, PaymentIntent cancelled, repeats harmless', async () => {
    const sku = await seedProduct(2);
    const { orderId, accessToken, order } = await pendingOrder(sku, 2);
    const views = await Promise.all(Array.from({ length: 5 }, () => cancelOrder(orderId, accessToken, m.deps)));
    expect(views.every((v) => v.state === 'CANCELLED')).toBe(true);
    expect((await getOrder(orderId)).history.filter((h) => h.to === 'CANCELLED')).toHaveLength(1);

    const settles = await Promise.all([settleClosedOrder(orderId, m.deps), settleClosedOrder(orderId, m.deps)]);
    expect(settles).toContain('applied');
    expect(await settleClosedOrder(orderId, m.deps)).toBe('already-done');
    expect(await expectConserved(sku)).toMatchObject({ available: 2, reserved: 0 });
    expect(await intentStatus(order.paymentIntentId!)).toBe('canceled');
    expect((await cancelOrder(orderId, accessToken, m.deps)).closeReason).toMatch(/cancelled by the customer/);
  });

  it('refuses to cancel a paid (and so confirmed) order and hides orders from wrong tokens', async () => {
    const sku = await seedProduct(2);
    const { orderId, accessToken, order } = await pendingOrder(sku);
    await sim.pay(order.paymentIntentId!);
    await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!));
    await expect(cancelOrder(orderId, accessToken, m.deps)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await expect(cancelOrder(orderId, 'x'.repeat(32), m.deps)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await getOrder(orderId)).state).toBe('CONFIRMED');
  });

  it('gives back stock a reservation took while the order was being cancelled', async () => {
    const sku = await seedProduct(1);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    await cancelOrder(placed.orderId, placed.accessToken, m.deps);
    expect(await reserveOrder(placed.orderId, m.deps)).toBe('already-done');
    await settleClosedOrder(placed.orderId, m.deps);
    expect(await expectConserved(sku)).toMatchObject({ available: 1, reserved: 0 });
  });
});

describe('late payment', () => {
  it('is accepted when the stock can be held again', async () => {
    const sku = await seedProduct(2);
    const { orderId, order } = await pendingOrder(sku, 1, 1);
    await sim.pay(order.paymentIntentId!); // paid, webhook still in flight
    // Expiry wins the race, finds the intent paid while cancelling it, and
    // applies the late payment itself: stock held again, order PAID, then
    // finalized in the same step.
    expect(await expireOrder(orderId, m.deps)).toBe('applied');
    expect(await intentStatus(order.paymentIntentId!)).toBe('succeeded');
    const paid = await getOrder(orderId);
    expect(paid.state).toBe('CONFIRMED');
    expect(paid.holdRef).toBe('late');
    expect(paid.payment?.succeededEventId).toBe(`reconcile:${order.paymentIntentId}`);
    expect(await expectConserved(sku)).toMatchObject({ available: 1, reserved: 0, sold: 1 });

    // The webhook, when it finally comes, is one more duplicate; so is a finalization job.
    expect(await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!))).toBe('already-done');
    expect(await finalizeOrder(orderId)).toBe('already-done');
    expect(await expectConserved(sku)).toMatchObject({ available: 1, reserved: 0, sold: 1 });
    const done = await getOrder(orderId);
    expect(done.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'EXPIRED', 'PAID', 'CONFIRMED']);
    expect(isLegalHistory(done.history, 'CONFIRMED')).toBe(true);
  });

  it('takes over holds an expiry had not released yet instead of holding twice', async () => {
    const sku = await seedProduct(1);
    const { orderId, order } = await pendingOrder(sku, 1, 1);
    await sim.pay(order.paymentIntentId!);
    await new Promise((r) => setTimeout(r, 5));
    // Expire without settling: the holds are still there when the payment lands.
    const { transition } = await import('../../src/server/orders/state-machine');
    await transition(orderId, { from: 'PAYMENT_PENDING', to: 'EXPIRED', set: { pendingRelease: 'r1', pendingIntentCancel: true } });
    expect(await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!))).toBe('applied');
    // The late release finds nothing of the old reservation to give back:
    // the unit was taken over, then sold to the order when it was finalized.
    await settleClosedOrder(orderId, m.deps);
    expect(await expectConserved(sku)).toMatchObject({ available: 0, reserved: 0, sold: 1 });
    expect((await getOrder(orderId)).state).toBe('CONFIRMED');
    expect(await finalizeOrder(orderId)).toBe('already-done');
    expect(await expectConserved(sku)).toMatchObject({ available: 0, reserved: 0, sold: 1 });
  });

  it('is refunded, once, when the stock is gone', async () => {
    const sku = await seedProduct(1);
    const { orderId, order } = await pendingOrder(sku, 1, 1);
    await sim.pay(order.paymentIntentId!);
    // Expired and its stock released (the first half of settling) before the
    // payment is noticed; someone else buys the last unit meanwhile.
    const { transition } = await import('../../src/server/orders/state-machine');
    await transition(orderId, { from: 'PAYMENT_PENDING', to: 'EXPIRED', set: { pendingRelease: 'r1', pendingIntentCancel: true } });
    await releaseLines(orderId, 'r1', order.lines);
    const rival = await pendingOrder(sku, 1);
    expect(rival.order.state).toBe('PAYMENT_PENDING');

    const event = await simEvent('payment_intent.succeeded', order.paymentIntentId!);
    const outcomes = await Promise.all([deliver(event), processWebhookEvent(event.id, m.deps)]);
    expect(outcomes).toContain('applied');
    const refunded = await getOrder(orderId);
    expect(refunded.state).toBe('REFUNDED');
    expect(refunded.refund?.id).toMatch(/^re_/);
    const refund = await m.deps.stripe.refunds.retrieve(refunded.refund!.id!);
    expect(refund.payment_intent).toBe(order.paymentIntentId);
    expect(refund.amount).toBe(order.totalMinor);
    const counts = await sim.call<{ counts: Record<string, number> }>('GET', '/_sim/requests');
    expect(counts.counts['POST /v1/refunds']).toBe(asList(await sim.events()).filter((e) => (e as { type: string }).type === 'refund.created').length);
    expect(await expectConserved(sku)).toMatchObject({ available: 0, reserved: 1 });
    expect(isLegalHistory(refunded.history, 'REFUNDED')).toBe(true);

    // The refund call itself, repeated and concurrent, is one refund.
    // Settling the closed order afterwards finds the intent paid and changes nothing more.
    await settleClosedOrder(orderId, m.deps);
    expect((await getOrder(orderId)).state).toBe('REFUNDED');
    const again = await Promise.all([1, 2, 3].map(() => refundOrderPayment(m.deps.stripe, orderId, order.paymentIntentId!)));
    expect(new Set([...again.map((r) => r.id), (await refundOrderPayment(m.deps.stripe, orderId, order.paymentIntentId!)).id])).toEqual(
      new Set([refunded.refund!.id]),
    );
  });
});

describe('finalization', () => {
  it('keeps a paid order whose stock is gone PAID with what was sold, and confirms it with every sale once restocked', async () => {
    const [a, b] = [await seedProduct(1), await seedProduct(1)];
    const placed = await placeOrder({ cartId: await cartWith([{ sku: a, qty: 1 }, { sku: b, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    await reserveOrder(placed.orderId, m.deps);
    await requestPayment(placed.orderId, m.deps);
    const order = await getOrder(placed.orderId);
    // The hold on b vanished (no step should do this) and another buyer holds its unit.
    await releaseLines(placed.orderId, order.holdRef, order.lines.filter((l) => l.sku === b));
    const rival = await pendingOrder(b);
    await sim.pay(order.paymentIntentId!);
    expect(await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!))).toBe('applied');
    const stuck = await getOrder(placed.orderId);
    expect(stuck.state).toBe('PAID');
    expect(stuck.attention?.map((x) => x.reason)).toEqual(['unsold-lines']);
    expect(stuck.sold?.map((x) => x.sku)).toEqual([a]);

    // The product lets its record of a's sale go (the order has a copy); b's unit comes free again.
    await dropSale(placed.orderId, { sku: a });
    expect((await stockOf(a)).sales).toEqual([]);
    await cancelOrder(rival.orderId, rival.accessToken, m.deps);
    await settleClosedOrder(rival.orderId, m.deps);

    expect(await finalizeOrder(placed.orderId)).toBe('applied');
    const confirmed = await getOrder(placed.orderId);
    expect(confirmed.state).toBe('CONFIRMED');
    expect(confirmed.sold?.map((x) => [x.sku, x.qty])).toEqual([[a, 1], [b, 1]]);
    // a's sale is the one recorded when it was made, copied from the order.
    expect(confirmed.sold?.[0]?.at).toEqual(stuck.sold?.[0]?.at);
    for (const sku of [a, b]) expect(await expectConserved(sku)).toMatchObject({ available: 0, reserved: 0, sold: 1 });
    await expectNoViolations({ orderIds: [placed.orderId], skus: [a, b] });
  });
});

describe('payment mismatch and event order', () => {
  it.each([
    ['amount', (o: { totalMinor: number }) => ({ totalMinor: o.totalMinor + 100 })],
    ['currency', () => ({ currency: 'usd' })],
  ] as const)('never marks paid on a wrong %s, and releases the stock', async (_what, diverged) => {
    const sku = await seedProduct(2);
    const { orderId, order } = await pendingOrder(sku);
    await sim.pay(order.paymentIntentId!);
    // The order and what Stripe charged disagree (the order's total or currency diverged).
    await Order.updateOne({ _id: orderId }, { $set: diverged(order) });
    expect(await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!))).toBe('applied');
    const flagged = await getOrder(orderId);
    expect(flagged.state).toBe('PAYMENT_MISMATCH');
    expect(flagged.history.some((h) => h.to === 'PAID')).toBe(false);
    await settleClosedOrder(orderId, m.deps);
    expect(await expectConserved(sku)).toMatchObject({ available: 2, reserved: 0 });
  });

  it('ignores a payment_failed that arrives after the success', async () => {
    const sku = await seedProduct(2);
    const { orderId, order } = await pendingOrder(sku);
    await sim.pay(order.paymentIntentId!, 'pm_card_chargeDeclined').catch(() => undefined);
    const failed = await simEvent('payment_intent.payment_failed', order.paymentIntentId!);
    await sim.pay(order.paymentIntentId!);
    await deliver(await simEvent('payment_intent.succeeded', order.paymentIntentId!));
    expect(await deliver(failed)).toBe('skipped');
    const paid = await getOrder(orderId);
    expect(paid.state).toBe('CONFIRMED');
    expect(paid.payment?.lastError?.code).toBeFalsy();
  });

  it('retries a success that arrives before the PaymentIntent id was stored', async () => {
    const sku = await seedProduct(2);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    await reserveOrder(placed.orderId, m.deps);
    const reserved = await getOrder(placed.orderId);
    // The intent exists at Stripe (same idempotency key as the worker's) and is paid.
    const intent = await createOrderPaymentIntent(m.deps.stripe, reserved);
    await sim.pay(intent.id);
    const event = await simEvent('payment_intent.succeeded', intent.id);
    const { body, signature } = signedEvent(m.deps, event);
    await receiveStripeWebhook(body, signature, { ...m.deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
    await expect(processWebhookEvent(event.id, m.deps)).rejects.toBeInstanceOf(RetryLaterError);
    expect((await getOrder(placed.orderId)).state).toBe('INVENTORY_RESERVED');

    await requestPayment(placed.orderId, m.deps);
    expect((await getOrder(placed.orderId)).paymentIntentId).toBe(intent.id);
    expect(await processWebhookEvent(event.id, m.deps)).toBe('applied');
    expect((await getOrder(placed.orderId)).state).toBe('CONFIRMED');
  });

  it('keeps stock conserved across everything above', async () => {
    expect(seeded.length).toBeGreaterThan(0);
    for (const sku of seeded) {
      const p = await stockOf(sku);
      expect(p.available + p.reserved + p.sold, p._id).toBe(p.initialStock);
    }
  });
});
