/**
 * Flash sale, closed model: one product with 100 units, 1,000 buyers, 50 (or
 * 200) at a time, every buyer doing the storefront's whole path. Issue 8's
 * targets are its thresholds.
 */
import { DEFAULT_BUYER, defineScenario, envNumber, type Scenario } from '../lib/scenario';

export function flashSaleClosed(concurrency: number): Scenario {
  const c = envNumber('CONCURRENCY', concurrency);
  return defineScenario({
    name: concurrency === 50 ? 'flash-sale-closed' : `flash-sale-closed-${concurrency}`,
    description: `Flash sale, closed model: one product, ${envNumber('UNITS', 100)} units, ${envNumber('BUYERS', 1000)} buyers, ${c} at a time`,
    units: envNumber('UNITS', 100),
    stripes: envNumber('STRIPES', 1),
    model: { kind: 'closed', buyers: envNumber('BUYERS', 1000), concurrency: c },
    buyer: { ...DEFAULT_BUYER, pollMs: envNumber('POLL_MS', 50) },
    settleMs: 30_000,
    baselineRequests: envNumber('BASELINE_REQUESTS', 500),
    thresholds: {
      decision_ms: ['p(50)<150', 'p(99)<1000'],
      confirm_ms: ['p(99)<1000'],
      sales_per_s: ['value>=50'],
      webhook_ms: ['p(99)<50'],
      webhook_timeouts: ['count==0'],
      buyer_errors: ['count==0'],
      accept_baseline_ratio: ['value>=0.5'],
    },
  });
}

export default flashSaleClosed(50);
