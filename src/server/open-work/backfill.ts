/**
 * One-time listing of orders written before the open-orders list existed
 * (open-orders.ts, rule 5): a search of the orders for those the rule says
 * need the reconciler, in `_id` order, one bounded page per call, each page
 * listed before the position moves on, so a crash or restart resumes where it
 * stopped. The last page records completion in `maintenance_marks`; from then
 * on a call costs one read by `_id`. Run by each maintenance pass until done.
 * To run it again (e.g. after processes of an older version wrote orders
 * during a rolling upgrade), delete the mark `open-orders-backfill`.
 */
import { MaintenanceMark } from '../../../prisma-free-models/maintenance-mark';
import { Order } from '../../../prisma-free-models/order';
import { logger } from '../logger';
import { NEEDS_RECONCILER_FILTER, openOrderEntry } from './open-orders';

const MARK = 'open-orders-backfill';

export interface BackfillResult {
  listed: number;
  done: boolean;
}

export async function backfillOpenOrders(pageSize = 1000): Promise<BackfillResult> {
  const mark = await MaintenanceMark.findById(MARK).lean<{ cursor?: string; doneAt?: Date }>();
  if (mark?.doneAt) return { listed: 0, done: true };
  const after = mark?.cursor;
  const ids = (
    await Order.find({ ...NEEDS_RECONCILER_FILTER, ...(after === undefined ? {} : { _id: { $gt: after } }) }, { _id: 1 })
      .sort({ _id: 1 })
      .limit(pageSize)
      .lean<{ _id: string }[]>()
  ).map((o) => o._id);
  for (const id of ids) await openOrderEntry(id);
  const done = ids.length < pageSize;
  const last = ids[ids.length - 1];
  await MaintenanceMark.updateOne({ _id: MARK }, done ? { $set: { doneAt: new Date() }, $unset: { cursor: 1 } } : { $set: { cursor: last } }, { upsert: true });
  if (ids.length > 0 || done) logger.info({ action: 'open-orders-backfill', listed: ids.length, done }, 'orders written before the open-orders list: listed');
  return { listed: ids.length, done };
}
