/**
 * Retention: what the public can create without paying does not stay forever.
 *   - carts untouched for CART_RETENTION_MS (default 7 days) are deleted, ordered or not
 *     (an order keeps its own copy of the lines);
 *   - webhook events processed more than WEBHOOK_EVENT_RETENTION_MS ago (default 30 days,
 *     at least 7: Stripe redelivers an event for up to 3 days, and while it is
 *     stored a redelivery is recognised as a duplicate). Unprocessed events are
 *     kept: the reconciler still owes them a run.
 *
 * A purge, not TTL indexes: the local MongoDB server (mongo-java-server) keeps
 * documents a TTL index should remove, and a TTL index fixes the retention in
 * the index, so changing it would mean rebuilding the index. Each pass of the
 * maintenance job (worker/processors/maintenance.ts) deletes in batches of
 * `batchSize` found through an index on the age field (Cart.updatedAt,
 * WebhookEvent.processedAt), at most `maxBatches` per collection, so a pass
 * is bounded however much has piled up; the rest waits for the next pass.
 * Deletion re-checks the age, so a cart changed meanwhile stays.
 */
import type { Model } from 'mongoose';
import { Cart } from '../../../prisma-free-models/cart';
import { WebhookEvent } from '../../../prisma-free-models/webhook-event';
import { logger } from '../logger';

export interface RetentionOptions {
  cartRetentionMs: number;
  webhookEventRetentionMs: number;
  batchSize?: number;
  maxBatches?: number;
  now?: Date;
}

export interface PurgeReport {
  carts: number;
  webhookEvents: number;
}

/** Deletes documents whose `field` is older than `cutoff`, batch by batch; returns how many. */
async function purgeOlderThan<T>(model: Model<T>, field: string, cutoff: Date, batchSize: number, maxBatches: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const old = { [field]: { $lt: cutoff } };
    const ids = (await model.find(old, { _id: 1 }).limit(batchSize).lean<{ _id: string }[]>()).map((d) => d._id);
    if (ids.length === 0) break;
    deleted += (await model.deleteMany({ _id: { $in: ids }, ...old })).deletedCount;
    if (ids.length < batchSize) break;
  }
  return deleted;
}

export async function purgeExpired(opts: RetentionOptions): Promise<PurgeReport> {
  const now = (opts.now ?? new Date()).getTime();
  const batchSize = opts.batchSize ?? 500;
  const maxBatches = opts.maxBatches ?? 10;
  const report: PurgeReport = {
    carts: await purgeOlderThan(Cart, 'updatedAt', new Date(now - opts.cartRetentionMs), batchSize, maxBatches),
    webhookEvents: await purgeOlderThan(WebhookEvent, 'processedAt', new Date(now - opts.webhookEventRetentionMs), batchSize, maxBatches),
  };
  if (report.carts + report.webhookEvents > 0) logger.info({ action: 'purge', ...report }, 'expired carts and webhook events deleted');
  return report;
}
