/**
 * Steady shopping: a low, even arrival rate (5 buyers a second for a minute)
 * with plenty of stock; what a normal day costs, and the latencies with no
 * crowd.
 */
import { DEFAULT_BUYER, defineScenario, envNumber } from '../lib/scenario';

const rate = envNumber('RATE', 5);
const seconds = envNumber('DURATION_S', 60);

export default defineScenario({
  name: 'steady-shopping',
  description: `Steady shopping: ${rate} buyers/s for ${seconds} s (open model), stock never runs out`,
  units: envNumber('UNITS', 100_000),
  stripes: envNumber('STRIPES', 1),
  model: { kind: 'open', buyers: Math.max(1, Math.round(rate * seconds)), durationMs: seconds * 1000 },
  buyer: { ...DEFAULT_BUYER, pollMs: envNumber('POLL_MS', 50) },
  settleMs: 30_000,
  thresholds: {
    decision_ms: ['p(50)<150', 'p(99)<1000'],
    confirm_ms: ['p(99)<1000'],
    buyer_errors: ['count==0'],
    connection_errors: ['count==0'],
    webhook_ms: ['p(99)<50'],
  },
});
