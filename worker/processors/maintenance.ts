import type { Config } from '../../src/server/config';
import type { Deps } from '../../src/server/deps';
import { logger } from '../../src/server/logger';
import { countReconcilerPass } from '../../src/server/metrics/domain-metrics';
import { backfillOpenOrders } from '../../src/server/open-work/backfill';
import { claimDue } from '../../src/server/open-work/marks';
import { reconcile } from '../../src/server/orders/reconcile';
import { purgeExpired } from '../../src/server/retention/purge';

export type MaintenanceConfig = Pick<
  Config,
  'STUCK_AFTER_MS' | 'IDEMPOTENCY_KEY_TTL_MS' | 'SALE_RECORD_TTL_MS' | 'CART_RETENTION_MS' | 'WEBHOOK_EVENT_RETENTION_MS' | 'HOUSEKEEPING_INTERVAL_MS'
>;

/**
 * One maintenance pass: orders written before the open-orders list are listed
 * (once, a page per pass, until done), the reconciler re-drives stuck work
 * from the keyed lists, and at most once per HOUSEKEEPING_INTERVAL_MS across
 * all workers the searches run: old idempotency keys, stray holds, expired
 * carts and events.
 */
export const maintenanceProcessor = (deps: Deps, config: MaintenanceConfig) => async () => {
  // Never in the way of the reconciler: a failure here is logged and tried again next pass.
  const backfill = await backfillOpenOrders().catch((err: unknown) => {
    logger.error({ action: 'open-orders-backfill', err }, 'backfill of the open-orders list failed; tried again next pass');
    return null;
  });
  const housekeeping = await claimDue('housekeeping', config.HOUSEKEEPING_INTERVAL_MS);
  const reconciled = await reconcile(deps, {
    stuckAfterMs: config.STUCK_AFTER_MS,
    idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS,
    saleRecordTtlMs: config.SALE_RECORD_TTL_MS,
    purgeKeys: housekeeping,
    sweepStrayHolds: housekeeping,
  });
  countReconcilerPass(reconciled);
  const purged = housekeeping ? await purgeExpired({ cartRetentionMs: config.CART_RETENTION_MS, webhookEventRetentionMs: config.WEBHOOK_EVENT_RETENTION_MS }) : null;
  return { ...reconciled, backfill, housekeeping, purged };
};
