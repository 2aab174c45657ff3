/** Retention: the maintenance job purges old carts and processed webhook events in bounded batches. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cart, WebhookEvent } from '../../prisma-free-models';
import { newCartId } from '../../src/server/ids';
import { purgeExpired } from '../../src/server/retention/purge';

const DAY = 24 * 3600_000;
const now = new Date();
const ago = (days: number) => new Date(now.getTime() - days * DAY);

/** Raw inserts: mongoose would stamp updatedAt with the present. */
async function cartsTouched(at: Date, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => newCartId());
  await Cart.collection.insertMany(ids.map((_id) => ({ _id, lines: [], createdAt: at, updatedAt: at })) as never[]);
  return ids;
}

async function event(receivedDaysAgo: number, processedDaysAgo: number | null): Promise<string> {
  const _id = `evt_retention_${randomBytes(6).toString('hex')}`;
  await WebhookEvent.create({ _id, type: 'payment_intent.succeeded', payload: '{}', receivedAt: ago(receivedDaysAgo), ...(processedDaysAgo === null ? {} : { processedAt: ago(processedDaysAgo) }) });
  return _id;
}

describe('retention', () => {
  it('deletes carts untouched and events processed longer ago than their retention, keeps the rest, in bounded batches', async () => {
    const old = await cartsTouched(ago(8), 5);
    const fresh = await cartsTouched(ago(6), 1);
    const oldEvent = await event(40, 31);
    const unprocessed = await event(40, null);
    const recent = await event(20, 20);
    const opts = { cartRetentionMs: 7 * DAY, webhookEventRetentionMs: 30 * DAY, now, batchSize: 2, maxBatches: 2 };

    // Other tests' expired carts may be there too; a pass deletes at most batchSize × maxBatches.
    let first = await purgeExpired(opts);
    expect(first.carts).toBeLessThanOrEqual(4);
    while (first.carts === 4 || first.webhookEvents === 4) first = await purgeExpired(opts);

    expect(await Cart.countDocuments({ _id: { $in: old } })).toBe(0);
    expect(await Cart.countDocuments({ _id: { $in: fresh } })).toBe(1);
    expect(await WebhookEvent.exists({ _id: oldEvent })).toBeNull();
    expect(await WebhookEvent.exists({ _id: unprocessed })).not.toBeNull();
    expect(await WebhookEvent.exists({ _id: recent })).not.toBeNull();
  });
});
