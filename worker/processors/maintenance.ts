import type { Config } from '../../src/server/config';
import type { Deps } from '../../src/server/deps';
import { countReconcilerPass } from '../../src/server/metrics/domain-metrics';
import { reconcile } from '../../src/server/orders/reconcile';
import { purgeExpired } from '../../src/server/retention/purge';

export type MaintenanceConfig = Pick<
  Config,
  'STUCK_AFTER_MS' | 'IDEMPOTENCY_KEY_TTL_MS' | 'SALE_RECORD_TTL_MS' | 'CART_RETENTION_MS' | 'WEBHOOK_EVENT_RETENTION_MS'
>;

/** One maintenance pass: the reconciler re-drives stuck work, then expired carts and events are purged. */
export const maintenanceProcessor = (deps: Deps, config: MaintenanceConfig) => async () => {
  const reconciled = await reconcile(deps, {
    stuckAfterMs: config.STUCK_AFTER_MS,
    idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS,
    saleRecordTtlMs: config.SALE_RECORD_TTL_MS,
  });
  countReconcilerPass(reconciled);
  const purged = await purgeExpired({ cartRetentionMs: config.CART_RETENTION_MS, webhookEventRetentionMs: config.WEBHOOK_EVENT_RETENTION_MS });
  return { ...reconciled, purged };
};
