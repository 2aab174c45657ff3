import type { Config } from '../../src/server/config';
import type { Deps } from '../../src/server/deps';
import { reconcile } from '../../src/server/orders/reconcile';

export const maintenanceProcessor = (deps: Deps, config: Pick<Config, 'STUCK_AFTER_MS' | 'IDEMPOTENCY_KEY_TTL_MS'>) => () =>
  reconcile(deps, { stuckAfterMs: config.STUCK_AFTER_MS, idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS });
