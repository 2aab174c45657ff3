/**
 * Webhook storm: every buyer pays, a quarter of them with a declined card
 * first; the simulator holds every event, delivers each three times, and
 * sends the held ones newest first every 250 ms — so a payment_failed often
 * arrives after its order's payment_intent.succeeded, and every event
 * arrives three times. Each order must still be confirmed once, charged once.
 */
import { DEFAULT_BUYER, defineScenario, envNumber } from '../lib/scenario';

export default defineScenario({
  name: 'webhook-storm',
  description: `Webhook storm: ${envNumber('BUYERS', 100)} buyers for ${envNumber('UNITS', 100)} units, 25 % declined first, every event 3×, held and flushed newest first every 250 ms`,
  units: envNumber('UNITS', 100),
  stripes: envNumber('STRIPES', 1),
  model: { kind: 'closed', buyers: envNumber('BUYERS', 100), concurrency: envNumber('CONCURRENCY', 20) },
  buyer: { ...DEFAULT_BUYER, declineFraction: 0.25, pollMs: envNumber('POLL_MS', 50) },
  sim: { duplicate: 3, hold: true, reorder: true },
  flushEveryMs: 250,
  settleMs: 30_000,
  thresholds: {
    // Includes waiting for the next flush (≤ 250 ms) and the flush sending one delivery at a time.
    confirm_ms: ['p(99)<5000'],
    buyer_errors: ['count==0'],
    webhook_timeouts: ['count==0'],
  },
});
