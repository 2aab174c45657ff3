import type { Config } from '../../src/server/config';
import type { Deps } from '../../src/server/deps';
import { reconcile } from '../../src/server/orders/reconcile';

export type MaintenanceConfig = Pick<Config, 'STUCK_AFTER_MS' | 'IDEMPOTENCY_KEY_TTL_MS' | 'SALE_RECORD_TTL_MS'>;

export const maintenanceProcessor = (deps: Deps, config: MaintenanceConfig) => () =>
  reconcile(deps, { stuckAfterMs: config.STUCK_AFTER_MS, idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS, saleRecordTtlMs: config.SALE_RECORD_TTL_MS });
