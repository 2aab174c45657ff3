/**
 * placeOrder: turn a cart into an order in state CREATED and reserve its
 * stock, here (deps.reserveAtPlacement) or in the worker's reservation job,
 * so the answer carries the decision or the buyer waits for it; a held order
 * is then asked its PaymentIntent here too (deps.paymentAtPlacement, payNow),
 * so the answer is payable, or else by the payment job. An order the
 * stock visibly cannot cover is written already REJECTED instead (see
 * visibleShortfall).
 *
 * The order document is written before the job is enqueued. If the enqueue
 * fails (Redis down, crash), the order is still durable: a replay with the
 * same key enqueues again, and the reconciler re-drives stuck orders.
 *
 * A cart becomes at most one order: the order records its cart under a
 * unique index, so of any number of calls for one cart with different keys,
 * concurrent or not, one creates the order and the others are told
 * CART_ALREADY_ORDERED with its id (the same key still replays). The order
 * also stays within the caps of abuse/order-caps.ts, and takes one of its
 * customer's unpaid-order slots (abuse/customer-slots.ts) before it is written.
 */
import { insertValidated } from '../../../prisma-free-models/insert-validated';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import type { ProductDoc } from '../../../prisma-free-models/product';
import { confirmCustomerSlot, releaseSlotUnlessHeld, takeCustomerSlot, unpaidOrdersLimitExceeded } from '../abuse/customer-slots';
import { assertWithinOrderLimits } from '../abuse/order-caps';
import { cartAlreadyOrderedError, cartForOrder, markCartOrdered } from '../cart/cart';
import { findActiveProducts } from '../catalog/catalog';
import { priceWith } from '../catalog/pricing';
import type { Config } from '../config';
import type { Deps } from '../deps';
import { DomainError, isDomainError, isDuplicateKeyError } from '../errors';
import { createOnce, hashRequest } from '../idempotency/request-idempotency';
import { newAccessToken, orderIdFor } from '../ids';
import { stripeCount, stripeFor } from '../inventory/stripes';
import { logger } from '../logger';
import { needsReconciler, openOrderEntry } from '../open-work/open-orders';
import type { PlaceOrderInput } from '../validation';
import { crashPoint } from '../crash-points';
import { requestMarkedPayment } from './request-payment';
import { reserveCreatedOrder } from './reserve-order';
import { initialStateFields, insertRejectedAtPlacement, transition } from './state-machine';
import type { OrderState } from './states';

export interface PlacedOrder {
  orderId: string;
  accessToken: string;
  state: OrderState;
  outcome: 'created' | 'replayed';
  /** While the order is PAYMENT_PENDING: what the browser confirms the payment with (as orders.get shows it). */
  payment: Payable | null;
}

/** deps.paymentAtPlacement from the configuration: off when PAYMENT_AT_PLACEMENT_TIMEOUT_MS is 0. */
export function paymentAtPlacementFrom(config: Pick<Config, 'PAYMENT_AT_PLACEMENT_TIMEOUT_MS'>): Pick<Deps, 'paymentAtPlacement'> {
  return config.PAYMENT_AT_PLACEMENT_TIMEOUT_MS > 0 ? { paymentAtPlacement: { timeoutMs: config.PAYMENT_AT_PLACEMENT_TIMEOUT_MS } } : {};
}

export interface Payable {
  paymentIntentId: string;
  clientSecret: string;
}

function payableOf(order: Pick<OrderDoc, 'state' | 'paymentIntentId' | 'clientSecret'>): Payable | null {
  return order.state === 'PAYMENT_PENDING' && order.paymentIntentId && order.clientSecret
    ? { paymentIntentId: order.paymentIntentId, clientSecret: order.clientSecret }
    : null;
}

export async function placeOrder(
  input: Omit<PlaceOrderInput, 'idempotencyKey'> & { idempotencyKey: string },
  deps: Pick<Deps, 'enqueuer' | 'stripe' | 'currency' | 'orderLimits' | 'holdTimeMs' | 'reserveAtPlacement' | 'paymentAtPlacement'>,
): Promise<PlacedOrder> {
  const { idempotencyKey, cartId, customer } = input;
  const requestHash = hashRequest({ cartId, customer });
  const slot = { email: customer.email, cartId, limit: deps.orderLimits.maxUnpaidOrdersPerCustomer };
  const orderId = orderIdFor(idempotencyKey, requestHash);

  // Set once this call has written its order: a refusal after that is this call's own, not explained by a stored order.
  let written = false;
  // The order the cart was found already marked with, if it was (a replay's usual way in).
  let cartMarkedAs: unknown;
  const { outcome, record } = await createOnce<OrderDoc>({
    key: idempotencyKey,
    requestHash,
    findByKey: (key) => Order.findOne({ idempotencyKey: key }).lean<OrderDoc>(),
    // Run for replays too (createOnce looks the key up only when this fails):
    // every write before the order's is keyed by the cart or by the order id,
    // which the key and request determine, so a replay repeats them harmlessly.
    insert: async () => {
      const items = await cartForOrder(cartId).catch((err: unknown) => {
        if (isDomainError(err) && err.code === 'CART_ALREADY_ORDERED') cartMarkedAs = err.details?.orderId;
        throw err;
      });
      if (items.length === 0) throw new DomainError('EMPTY_CART', 'The cart is empty', { field: 'cartId' });
      assertWithinOrderLimits(items, deps.orderLimits);
      const products = await findActiveProducts(items.map((i) => i.sku));
      const priced = priceWith(items, products, deps.currency);
      // Each line of a product split into stripes is held on the stripe its order id picks (inventory/stripes.ts).
      const lines = priced.lines.map((line) => {
        const stripes = stripeCount(products.get(line.sku) ?? {});
        return stripes > 1 ? { ...line, stripe: stripeFor(orderId, line.sku, stripes) } : line;
      });
      const order = { _id: orderId, accessToken: newAccessToken(), idempotencyKey, cartId, requestHash, lines, currency: priced.currency, totalMinor: priced.totalMinor, customer };
      const shortSku = visibleShortfall(items, products);
      if (shortSku) {
        // Holds nothing and needs no later work: no customer slot, no open-orders entry, no job.
        return insertRejectedAtPlacement({ ...order, rejection: { reason: 'OUT_OF_STOCK', sku: shortSku } }, 'place-order', `OUT_OF_STOCK ${shortSku}`);
      }
      await takeCustomerSlot(slot);
      // Listed before it exists, so no crash can leave it unknown to the reconciler (open-work/open-orders.ts).
      await openOrderEntry(orderId);
      const created = await insertValidated(Order, { ...order, ...initialStateFields('place-order') });
      written = true;
      // Again now that it exists: a reconciler that found no order yet may have dropped the entry.
      await openOrderEntry(orderId);
      if (!(await confirmCustomerSlot(slot))) await rejectOverCap(created._id, slot.limit);
      return created;
    },
    // An order already stored under the key explains any refusal before this
    // call's own write: a twin made the cart read-only, or since that order the
    // customer's slots filled or a product was withdrawn. Its replay is the answer.
    mayBeTwin: (err) => !written && isDomainError(err),
  }).catch(async (err: unknown) => {
    // Not this key's order (createOnce replays those): another key's order took the cart.
    if (isDuplicateKeyError(err)) throw await cartAlreadyOrdered(cartId, customer.email);
    throw err;
  });

  logger.info({ orderId: record._id, state: record.state, action: 'place-order', outcome }, 'placeOrder');
  // A replay may follow a call that died between writing the order and listing it again.
  if (outcome === 'replayed' && needsReconciler(record)) await openOrderEntry(record._id);
  if (cartMarkedAs !== record._id) await markCartOrdered(cartId, record._id);
  let state = record.state;
  let payment = payableOf(record);
  if (state === 'CREATED' && outcome === 'created' && deps.reserveAtPlacement) {
    const now = await reserveNow(record, deps);
    if (now) ({ state, payment } = now);
  }
  // Enqueue on replays too: it is absorbed when the job exists, and it re-drives
  // an order whose first enqueue was lost.
  if (state === 'CREATED') {
    try {
      await deps.enqueuer.reserve(record._id);
    } catch (err) {
      logger.error({ orderId: record._id, err }, 'enqueue of reservation failed; the reconciler will re-drive it');
    }
  }
  return { orderId: record._id, accessToken: record.accessToken, state, outcome, payment };
}

/**
 * The reservation, here rather than in a job: no queue hop before the
 * decision, and no read of the order just written. It is the same step the
 * job runs (safe twice, concurrently, and killed anywhere), so a failure here
 * only hands it to the job; a crash leaves the order CREATED and listed, for
 * a replay or the reconciler. With paymentAtPlacement the payment request
 * follows (payNow). Returns the order's state after both, or null.
 */
async function reserveNow(
  order: OrderDoc,
  deps: Pick<Deps, 'enqueuer' | 'stripe' | 'holdTimeMs' | 'paymentAtPlacement'>,
): Promise<{ state: OrderState; payment: Payable | null } | null> {
  let reserved: Awaited<ReturnType<typeof reserveCreatedOrder>>;
  try {
    reserved = await reserveCreatedOrder(order, deps, { payHere: deps.paymentAtPlacement !== undefined });
  } catch (err) {
    logger.warn({ orderId: order._id, err }, 'reservation at placement failed; the reservation job takes it over');
    return null;
  }
  if (reserved.payNext) return payNow(reserved.payNext, deps);
  return reserved.state ? { state: reserved.state, payment: null } : null;
}

/**
 * The payment request for the order this call has just reserved: the payment
 * job's step after its mark (the reservation wrote it), so the answer is
 * payable without a queue hop. Stripe gets one bounded try; when it fails or
 * times out the job takes over, asking again under the same idempotency key,
 * so at most one PaymentIntent exists either way. A crash here leaves the
 * order INVENTORY_RESERVED and listed: the reconciler enqueues the job.
 */
async function payNow(order: OrderDoc, deps: Pick<Deps, 'enqueuer' | 'stripe' | 'paymentAtPlacement'>): Promise<{ state: OrderState; payment: Payable | null }> {
  crashPoint('place-order:before-payment');
  try {
    const result = await requestMarkedPayment(order, deps, { timeout: deps.paymentAtPlacement?.timeoutMs, maxNetworkRetries: 0 });
    const now = result.order ?? order;
    return { state: now.state, payment: payableOf(now) };
  } catch (err) {
    logger.warn({ orderId: order._id, err }, 'payment request at placement failed; the payment job takes it over');
    try {
      await deps.enqueuer.requestPayment(order._id);
    } catch (enqueueErr) {
      logger.error({ orderId: order._id, err: enqueueErr }, 'enqueue of the payment request failed; the reconciler will re-drive it');
    }
    return { state: order.state, payment: null };
  }
}

/**
 * The first line the stock visibly cannot cover, if any. In a sale most
 * buyers arrive after the last unit is held: each such order is written
 * already REJECTED (one insert) instead of written, listed, queued, reserved
 * and rejected. Only a shortfall seen in this read counts; stock that runs out
 * after it is still decided by the reservation's conditional update, which
 * alone guarantees no oversell.
 */
function visibleShortfall(items: readonly { sku: string; qty: number }[], products: ReadonlyMap<string, ProductDoc>): string | undefined {
  return items.find((item) => (products.get(item.sku)?.available ?? 0) < item.qty)?.sku;
}

async function cartAlreadyOrdered(cartId: string, email: string): Promise<DomainError> {
  const existing = await Order.findOne({ cartId }, { _id: 1 }).lean<Pick<OrderDoc, '_id'>>();
  if (!existing) return new DomainError('UNAVAILABLE', 'The order could not be written; try again with the same Idempotency-Key');
  await releaseSlotUnlessHeld(email, cartId);
  await markCartOrdered(cartId, existing._id);
  return cartAlreadyOrderedError(existing._id);
}

/**
 * The order was written but its customer's slot was taken meanwhile (see
 * abuse/customer-slots.ts): reject it before anything is reserved, rather
 * than let the customer exceed the cap.
 */
async function rejectOverCap(orderId: string, limit: number): Promise<never> {
  const result = await transition(orderId, { from: 'CREATED', to: 'REJECTED', set: { rejection: { reason: 'customer-limit' } }, detail: 'customer-limit' });
  logger.warn({ orderId, action: 'reject', outcome: result.outcome }, 'order over the unpaid-orders cap rejected');
  throw unpaidOrdersLimitExceeded(limit);
}
