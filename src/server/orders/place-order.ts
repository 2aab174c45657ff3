/**
 * placeOrder: turn a cart into an order in state CREATED and hand it to the
 * worker. Returns at once; the reservation happens asynchronously.
 *
 * The order document is written before the job is enqueued. If the enqueue
 * fails (Redis down, crash), the order is still durable: a replay with the
 * same key enqueues again, and the reconciler re-drives stuck orders.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { cartLines } from '../cart/cart';
import { priceLines } from '../catalog/pricing';
import type { Deps } from '../deps';
import { DomainError } from '../errors';
import { createOnce, hashRequest } from '../idempotency/request-idempotency';
import { newAccessToken, newOrderId } from '../ids';
import { logger } from '../logger';
import type { PlaceOrderInput } from '../validation';
import { initialStateFields } from './state-machine';
import type { OrderState } from './states';

export interface PlacedOrder {
  orderId: string;
  accessToken: string;
  state: OrderState;
  outcome: 'created' | 'replayed';
}

export async function placeOrder(
  input: Omit<PlaceOrderInput, 'idempotencyKey'> & { idempotencyKey: string },
  deps: Pick<Deps, 'enqueuer' | 'currency'>,
): Promise<PlacedOrder> {
  const { idempotencyKey, cartId, customer } = input;
  const requestHash = hashRequest({ cartId, customer });

  const { outcome, record } = await createOnce<OrderDoc>({
    key: idempotencyKey,
    requestHash,
    findByKey: (key) => Order.findOne({ idempotencyKey: key }).lean<OrderDoc>(),
    insert: async () => {
      const items = await cartLines(cartId);
      if (items.length === 0) throw new DomainError('EMPTY_CART', 'The cart is empty', { field: 'cartId' });
      const priced = await priceLines(items, deps.currency);
      const created = await Order.create({
        _id: newOrderId(),
        accessToken: newAccessToken(),
        idempotencyKey,
        requestHash,
        ...initialStateFields('place-order'),
        lines: priced.lines,
        currency: priced.currency,
        totalMinor: priced.totalMinor,
        customer,
      });
      return created.toObject<OrderDoc>();
    },
  });

  logger.info({ orderId: record._id, state: record.state, action: 'place-order', outcome }, 'placeOrder');
  // Enqueue on replays too: it is absorbed when the job exists, and it re-drives
  // an order whose first enqueue was lost.
  if (record.state === 'CREATED') {
    try {
      await deps.enqueuer.reserve(record._id);
    } catch (err) {
      logger.error({ orderId: record._id, err }, 'enqueue of reservation failed; the reconciler will re-drive it');
    }
  }
  return { orderId: record._id, accessToken: record.accessToken, state: record.state, outcome };
}
