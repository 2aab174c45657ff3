import type { Config } from '../../src/server/config';
import type { Deps } from '../../src/server/deps';
import { countReconcilerPass } from '../../src/server/metrics/domain-metrics';
import { reconcile } from '../../src/server/orders/reconcile';

export type MaintenanceConfig = Pick<Config, 'STUCK_AFTER_MS' | 'IDEMPOTENCY_KEY_TTL_MS' | 'SALE_RECORD_TTL_MS'>;

export const maintenanceProcessor = (deps: Deps, config: MaintenanceConfig) => async () => {
  const report = await reconcile(deps, {
    stuckAfterMs: config.STUCK_AFTER_MS,
    idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS,
    saleRecordTtlMs: config.SALE_RECORD_TTL_MS,
  });
  countReconcilerPass(report);
  return report;
};
