/**
 * Retry storm: every buyer sends placeOrder three times with one
 * Idempotency-Key — half of them all three at once, the others one after the
 * other — so each key must still make exactly one order (checked for every
 * buyer, and against the orders stored for the product).
 */
import { DEFAULT_BUYER, defineScenario, envNumber } from '../lib/scenario';

export default defineScenario({
  name: 'retry-storm',
  description: `Retry storm: ${envNumber('BUYERS', 300)} buyers, ${envNumber('CONCURRENCY', 50)} at a time, each placeOrder sent 3× with one key (half concurrently), ${envNumber('UNITS', 100)} units`,
  units: envNumber('UNITS', 100),
  stripes: envNumber('STRIPES', 1),
  model: { kind: 'closed', buyers: envNumber('BUYERS', 300), concurrency: envNumber('CONCURRENCY', 50) },
  buyer: { ...DEFAULT_BUYER, repeatFraction: 1, repeats: 2, concurrentRepeatFraction: 0.5, pollMs: envNumber('POLL_MS', 50) },
  settleMs: 30_000,
  thresholds: {
    decision_ms: ['p(99)<1000'],
    buyer_errors: ['count==0'],
    connection_errors: ['count==0'],
  },
});
