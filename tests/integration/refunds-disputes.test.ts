/**
 * After the money: refunds and disputes reported by Stripe (here the
 * simulator, with Stripe's test cards for a refund that fails later and a
 * payment disputed later) are recorded on the order, shown to its owner, and
 * a failed refund or a dispute flags the order for a human. Events are only
 * hints: a false one changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { auditInvariants } from '../../src/server/audit/invariants';
import { applyRefundUpdate } from '../../src/server/orders/refunds-and-disputes';
import { api, cartWith, customer, getOrder, manualDeps, newKey, seedProduct, sim, simEvent, waitFor, waitForState } from '../helpers';

const m = manualDeps();
afterAll(async () => {
  await sim.configure({ hold: false });
  await m.close();
});

async function pendingOrder() {
  const sku = await seedProduct(2);
  const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
  const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING']);
  return { sku, ...placed, pi: pending.paymentIntentId! };
}

describe('refunds and disputes', () => {
  it('a customer who paid, then cancelled, is refunded; the refund fails later and the order is flagged, not silently refunded', async () => {
    const { orderId, accessToken, pi, sku } = await pendingOrder();
    // Deliveries held, so the cancel reaches the order before the payment's webhook does.
    await sim.configure({ hold: true });
    expect((await sim.pay(pi, 'pm_card_refundFail')).status).toBe('succeeded');
    await api().orders.cancel.mutate({ orderId, accessToken });
    const refunded = await waitForState(orderId, ['REFUNDED']);
    expect(refunded.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'CANCELLED', 'REFUNDED']);
    await simEvent('refund.failed', refunded.refund!.id!);
    await sim.configure({ hold: false });
    await sim.flush();

    // Recorded, then flagged (two writes of the event's job): wait for both.
    const flagged = await waitFor('the refund failure recorded and flagged', () => getOrder(orderId), (o) => o.refund?.status === 'failed' && Boolean(o.attention?.length));
    expect(flagged.refund).toMatchObject({ id: refunded.refund!.id, status: 'failed', failureReason: 'expired_or_canceled_card' });
    expect(flagged.attention?.map((a) => a.reason)).toEqual(['refund-failed']);
    expect(flagged.state).toBe('REFUNDED');
    const view = await api().orders.get.query({ orderId, accessToken });
    expect(view.refund).toMatchObject({ status: 'failed', failureReason: 'expired_or_canceled_card' });
    expect(view.closeReason).toMatch(/refund could not be completed/);
    // The auditor agrees something is wrong with the money: Stripe says the refund failed.
    const report = await auditInvariants({ stuckAfterMs: 60_000, orderIds: [orderId], skus: [sku], stripe: m.deps.stripe });
    expect(report.violations.map((v) => v.check)).toEqual(['refund.stripe']);
  });

  it('a disputed payment is recorded on the confirmed order and flagged', async () => {
    const { orderId, accessToken, pi } = await pendingOrder();
    expect((await sim.pay(pi, 'pm_card_createDispute')).status).toBe('succeeded');
    await waitForState(orderId, ['CONFIRMED']);
    const disputed = await waitFor('the dispute recorded', () => getOrder(orderId), (o) => Boolean(o.dispute?.id));
    expect(disputed.dispute).toMatchObject({ reason: 'fraudulent', status: 'needs_response' });
    expect(disputed.attention?.map((a) => a.reason)).toEqual(['dispute']);
    expect(disputed.state).toBe('CONFIRMED');
    const view = await api().orders.get.query({ orderId, accessToken });
    expect(view.dispute).toEqual({ status: 'needs_response', reason: 'fraudulent' });
  });

  it('a false refund event changes nothing: the refund is what Stripe says it is', async () => {
    const { orderId, accessToken, pi } = await pendingOrder();
    await sim.configure({ hold: true });
    expect((await sim.pay(pi)).status).toBe('succeeded');
    await api().orders.cancel.mutate({ orderId, accessToken });
    const refunded = await waitForState(orderId, ['REFUNDED']);
    await sim.configure({ hold: false });
    await sim.flush();
    await waitFor('the refund confirmed', () => getOrder(orderId), (o) => o.refund?.status === 'succeeded');
    const claim = { id: refunded.refund!.id!, object: 'refund', status: 'failed', failure_reason: 'lost_or_stolen_card', payment_intent: pi };
    expect(await applyRefundUpdate(claim as never, m.deps)).toBe('applied');
    const after = await getOrder(orderId);
    expect(after.refund?.status).toBe('succeeded');
    expect(after.attention).toBeUndefined();
    // And a refund Stripe never made is nobody's.
    expect(await applyRefundUpdate({ ...claim, id: `re_${randomBytes(6).toString('hex')}` } as never, m.deps)).toBe('refused');
  });
});
