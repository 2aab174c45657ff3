import { describe, expect, it } from 'vitest';
import { orderView } from './order-view-fixture';
import type { OrderView } from './order-words';
import { FOLLOW, isSettled, jittered, refreshDelay, retryDelay, signatureOf } from './follow-schedule';

const view = (state: OrderView['state'], events: (string | null)[] = []): OrderView =>
  orderView({
    state,
    paymentEvents: events.map((outcome) => ({ type: 'payment_intent.succeeded', from: 'stripe', receivedAt: '2026-01-01T10:00:00.000Z', outcome })),
  });

describe('when the order page reads its order', () => {
  it('stops once nothing can change, after the events it shows were processed (or their grace ran out)', () => {
    for (const state of ['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH'] as const) expect(isSettled(view(state), 0)).toBe(true);
    for (const state of ['CREATED', 'PAYMENT_PENDING', 'PAID', 'CANCELLED', 'EXPIRED'] as const) expect(isSettled(view(state), 10 * 60_000)).toBe(false);
    expect(isSettled(view('CONFIRMED', ['applied', null]), 1_000)).toBe(false);
    expect(isSettled(view('CONFIRMED', ['applied', null]), FOLLOW.eventGraceMs)).toBe(true);
  });

  it('leaves transitions to the wait: no read where only a transition can change the page', () => {
    for (const state of ['CREATED', 'INVENTORY_RESERVED', 'PAID', 'CANCELLED', 'EXPIRED'] as const) expect(refreshDelay(view(state), 0, null)).toBeNull();
  });

  it('reads a payable order now and then, since a declined attempt is recorded without a transition', () => {
    expect(refreshDelay(view('PAYMENT_PENDING'), 0, null)).toBe(FOLLOW.payableRefreshMs);
    expect(refreshDelay(view('PAYMENT_PENDING'), 10 * 60_000, null)).toBe(FOLLOW.payableRefreshMs);
  });

  it('reads often right after a failed attempt, backing off, until its window ends', () => {
    expect(refreshDelay(view('PAYMENT_PENDING'), 60_000, 0)).toBe(FOLLOW.quickMs);
    expect(refreshDelay(view('PAYMENT_PENDING'), 60_000, 3_000)).toBe(FOLLOW.quickMs);
    expect(refreshDelay(view('PAYMENT_PENDING'), 60_000, 16_000)).toBe(4_000);
    expect(refreshDelay(view('PAYMENT_PENDING'), 60_000, FOLLOW.attemptWindowMs)).toBe(FOLLOW.payableRefreshMs);
  });

  it('reads often while a payment event shown on a settled order is being processed, backing off with the quiet time', () => {
    // Not settled: the next transition brings the processed event along.
    expect(refreshDelay(view('PAID', [null]), 0, null)).toBeNull();
    expect(refreshDelay(view('CONFIRMED', ['applied', null]), 0, null)).toBe(FOLLOW.quickMs);
    expect(refreshDelay(view('CONFIRMED', ['applied', null]), 20_000, null)).toBe(5_000);
    expect(refreshDelay(view('CONFIRMED', [null]), 10 * 60_000, null)).toBe(FOLLOW.quickMaxMs);
  });

  it('backs off after failures, doubling to the maximum, jittered within the upper half', () => {
    expect(retryDelay(1, () => 0)).toBe(FOLLOW.quickMs / 2);
    expect(retryDelay(1, () => 1)).toBe(FOLLOW.quickMs);
    expect(retryDelay(3, () => 1)).toBe(4 * FOLLOW.quickMs);
    expect(retryDelay(50, () => 1)).toBe(FOLLOW.retryMaxMs);
    expect(retryDelay(50, () => 0)).toBe(FOLLOW.retryMaxMs / 2);
    expect(jittered(10_000, () => 0)).toBe(8_000);
    expect(jittered(10_000, () => 1)).toBe(12_000);
  });

  it('counts a recorded failure, a processed event or a refund update as a change, like a transition', () => {
    const base = view('PAYMENT_PENDING', [null]);
    expect(signatureOf(base)).toBe(signatureOf(view('PAYMENT_PENDING', [null])));
    expect(signatureOf(base)).not.toBe(signatureOf(view('PAYMENT_PENDING', ['applied'])));
    expect(signatureOf(base)).not.toBe(signatureOf({ ...base, payment: { ...base.payment, lastError: { code: 'card_declined', message: null } } }));
    expect(signatureOf(base)).not.toBe(signatureOf({ ...base, refund: { id: 're_1', amount: 100, status: 'succeeded', failureReason: null } }));
  });
});
