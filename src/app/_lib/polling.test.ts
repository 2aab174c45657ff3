import { describe, expect, it } from 'vitest';
import { nextPollDelay, POLL } from './polling';

describe('order page polling', () => {
  it('polls every second while the order is changing, then backs off to the maximum', () => {
    expect(nextPollDelay('CREATED', 0)).toBe(POLL.fastMs);
    expect(nextPollDelay('PAYMENT_PENDING', 3_000)).toBe(POLL.fastMs);
    expect(nextPollDelay('PAYMENT_PENDING', 20_000)).toBe(5_000);
    expect(nextPollDelay('PAYMENT_PENDING', 10 * 60_000)).toBe(POLL.maxMs);
    expect(nextPollDelay('PAID', 500)).toBe(POLL.fastMs);
  });

  it('stops once nothing can change, and keeps an eye on closed orders for a late payment', () => {
    for (const state of ['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH'] as const) expect(nextPollDelay(state, 0)).toBe(false);
    expect(nextPollDelay('EXPIRED', 0)).toBe(POLL.closedMs);
    expect(nextPollDelay('CANCELLED', 60_000)).toBe(POLL.closedMs);
  });
});
