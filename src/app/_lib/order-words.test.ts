import { describe, expect, it } from 'vitest';
import { ORDER_STATES } from '../../server/orders/states';
import { orderView } from './order-view-fixture';
import { closeReasonLine, journeyOf, nextStepFor, STATE_NAMES } from './order-words';

const order = orderView;

describe('the order page’s words', () => {
  it('names every state and says what happens next in each', () => {
    for (const state of ORDER_STATES) {
      expect(STATE_NAMES[state]).toBeTruthy();
      const next = nextStepFor(order({ state }));
      expect(next.title.length, state).toBeGreaterThan(5);
      expect(next.detail.length, state).toBeGreaterThan(10);
    }
    expect(nextStepFor(order({ state: 'PAYMENT_MISMATCH' })).title).toBe('We are reviewing your payment');
  });

  it('names the item that ran out, and the decline of the last attempt', () => {
    const rejected = nextStepFor(order({ state: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: 'MUG-1' } }));
    expect(rejected.detail).toContain('Ceramic mug ran out before we could hold it for you.');
    const declined = nextStepFor(order({ payment: { paymentIntentId: 'pi_1', clientSecret: 's', lastError: { code: 'insufficient_funds', message: 'Your card has insufficient funds.' } } }));
    expect(declined.detail).toContain('not have enough funds');
    expect(declined.detail).toContain('try again');
  });

  it('says why a payment was refunded, or that the refund failed, with the server’s reason', () => {
    const refunded = order({ state: 'REFUNDED', closeReason: 'You cancelled this order after paying, so your payment was refunded in full.', refund: { id: 're_1', amount: 49_900, status: 'succeeded', failureReason: null } });
    expect(nextStepFor(refunded)).toEqual({
      title: 'Your payment was refunded',
      detail: 'You cancelled this order after paying, so your payment was refunded in full. Refunds take a few working days to reach your account.',
    });
    // Stripe has not reported on the refund yet: still on its way, not failed.
    expect(nextStepFor(order({ ...refunded, refund: { id: 're_1', amount: 49_900, status: 'pending', failureReason: null } })).title).toBe('Your payment was refunded');
    expect(nextStepFor(order({ state: 'REFUNDED' })).detail).toBe('We refunded your payment in full. Refunds take a few working days to reach your account.');
    const failed = order({ state: 'REFUNDED', closeReason: 'Your refund could not be completed.', refund: { id: 're_1', amount: 49_900, status: 'failed', failureReason: 'expired_or_canceled_card' } });
    expect(nextStepFor(failed)).toEqual({ title: 'Your refund did not go through', detail: 'Your refund could not be completed.' });
    expect(nextStepFor(order({ ...failed, closeReason: null, refund: { id: 're_1', amount: 49_900, status: 'canceled', failureReason: null } })).title).toBe('Your refund did not go through');
  });

  it('a customer’s cancel is always refunded, an expired hold’s late payment may be honoured', () => {
    expect(nextStepFor(order({ state: 'CANCELLED' })).detail).toContain('we will refund it in full');
    expect(nextStepFor(order({ state: 'CANCELLED' })).detail).not.toContain('honour');
    expect(nextStepFor(order({ state: 'EXPIRED' })).detail).toContain('we will honour it or refund it in full');
  });

  it('shows the server’s reason once: under a closed order, or a dispute on a sale, never twice', () => {
    expect(closeReasonLine(order({ state: 'CANCELLED', closeReason: 'cancelled by the customer' }))).toBe('Reason: cancelled by the customer');
    expect(closeReasonLine(order({ state: 'EXPIRED', closeReason: 'payment not received in time' }))).toBe('Reason: payment not received in time');
    const disputed = order({ state: 'CONFIRMED', closeReason: 'Your bank has disputed this payment; we will be in touch about it.' });
    expect(closeReasonLine(disputed)).toBe('Your bank has disputed this payment; we will be in touch about it.');
    // The next step already says these.
    expect(closeReasonLine(order({ state: 'REFUNDED', closeReason: 'You cancelled this order after paying, so your payment was refunded in full.' }))).toBeNull();
    expect(closeReasonLine(order({ state: 'PAYMENT_MISMATCH', closeReason: 'The payment received does not match the order total.' }))).toBeNull();
    expect(closeReasonLine(order({ state: 'CONFIRMED' }))).toBeNull();
  });

  it('puts transitions and payment events in time order, each with its outcome', () => {
    const journey = journeyOf(
      order({
        history: [
          { from: null, to: 'CREATED', action: 'place-order', outcome: 'created', at: '2026-01-01T10:00:00.000Z' },
          { from: 'PAYMENT_PENDING', to: 'PAID', action: 'mark-paid', outcome: 'applied', at: '2026-01-01T10:00:03.000Z' },
        ],
        paymentEvents: [
          { type: 'payment_intent.succeeded', from: 'stripe', receivedAt: '2026-01-01T10:00:02.000Z', outcome: 'applied' },
          { type: 'payment_intent.succeeded', from: 'reconciler', receivedAt: '2026-01-01T10:00:04.000Z', outcome: 'already-done' },
          { type: 'payment_intent.payment_failed', from: 'stripe', receivedAt: '2026-01-01T10:00:05.000Z', outcome: null },
          { type: 'charge.refunded', from: 'stripe', receivedAt: '2026-01-01T10:00:06.000Z', outcome: 'applied' },
          { type: 'refund.created', from: 'stripe', receivedAt: '2026-01-01T10:00:07.000Z', outcome: 'applied' },
          { type: 'refund.failed', from: 'stripe', receivedAt: '2026-01-01T10:00:08.000Z', outcome: 'refused' },
          { type: 'payment_intent.canceled', from: 'stripe', receivedAt: '2026-01-01T10:00:09.000Z', outcome: 'skipped' },
        ],
      }),
    );
    expect(journey.map((j) => [j.what, j.outcome])).toEqual([
      ['Order placed', 'done'],
      ['Stripe reported the payment succeeded', 'applied'],
      ['Payment received', 'applied'],
      ['We checked the payment with Stripe', 'already done'],
      ['Stripe reported a failed payment attempt', 'being processed'],
      ['Payment refunded', 'applied'],
      ['Refund started', 'applied'],
      ['Refund failed', 'not applied'],
      // A type without words of its own is shown as it is rather than hidden.
      ['payment_intent.canceled', 'nothing to do'],
    ]);
  });
});
