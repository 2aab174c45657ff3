/**
 * Flash sale at scale, open model: 1,000 units, 10,000 buyers arriving evenly
 * within 10 s whether or not earlier ones were answered; 20 % of them send
 * placeOrder a second time with the same key; the simulator delivers every
 * webhook twice. Exactly 1,000 must be confirmed, every order terminal or
 * payable 30 s after the last arrival, no connection errors.
 */
import { DEFAULT_BUYER, defineScenario, envNumber } from '../lib/scenario';

export default defineScenario({
  name: 'flash-sale-open',
  description: `Flash sale, open model: ${envNumber('UNITS', 1000)} units, ${envNumber('BUYERS', 10_000)} buyers arriving within ${envNumber('DURATION_S', 10)} s, 20 % repeat placeOrder, every webhook twice`,
  units: envNumber('UNITS', 1000),
  stripes: envNumber('STRIPES', 1),
  model: { kind: 'open', buyers: envNumber('BUYERS', 10_000), durationMs: envNumber('DURATION_S', 10) * 1000 },
  // Thousands of buyers wait at once: poll less often than the closed model, or the polling is the load.
  buyer: { ...DEFAULT_BUYER, repeatFraction: 0.2, repeats: 1, pollMs: envNumber('POLL_MS', 250) },
  sim: { duplicate: 2 },
  settleMs: 30_000,
  thresholds: {
    decision_ms: ['p(50)<150', 'p(99)<1000'],
    confirm_ms: ['p(99)<1000'],
    connection_errors: ['count==0'],
    buyer_errors: ['count==0'],
    unsettled_orders: ['value==0'],
    webhook_ms: ['p(99)<50'],
    webhook_timeouts: ['count==0'],
  },
});
