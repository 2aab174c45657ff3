/**
 * At most N unpaid orders per customer at once (N = MAX_UNPAID_ORDERS_PER_CUSTOMER;
 * the customer is the normalised email, see customer-key.ts). An order counts
 * while it is CREATED, INVENTORY_RESERVED or PAYMENT_PENDING: placed and
 * not yet paid, cancelled, expired or rejected.
 *
 * The count must hold when calls race (two placeOrder calls with different
 * keys for one email at once), with only what MongoDB guarantees: atomic
 * conditional updates of one document, unique indexes, no transactions.
 * So each customer has one document of slots (prisma-free-models/customer-slots.ts)
 * and placeOrder takes a slot before it writes the order, with one update
 * "push a slot for this cart if there are fewer than N": of N + 1 racing
 * calls at most N succeed.
 *
 * Slots are derived, not counted: nothing has to release a slot when an order
 * is paid or closed, so the state machine knows nothing of them and no crash
 * between a transition and a release can leak one. A slot names its cart,
 * and the order of a cart is found through the unique Order.cartId. When the
 * document is full, each slot is checked against that order and dropped if
 *   - the order has left the unpaid states (they are never re-entered), or
 *     belongs to another customer (the cart was ordered by someone else);
 *   - there is no order and the slot is older than ORPHAN_SLOT_GRACE_MS: its
 *     placeOrder died (or failed) between taking the slot and writing the order.
 * A slot is dropped only as it was seen (same cart and same `at`).
 *
 * That grace is about fairness, not correctness: after writing its order,
 * placeOrder confirms its slot by setting a fresh `at`. A check that saw "no
 * order yet" can then no longer drop it; if it already had, the confirmation
 * takes a slot again, and if none is free the new order is rejected
 * (reason `customer-limit`) rather than exceed the cap. Only a placeOrder
 * stalled for longer than the grace can end that way.
 *
 * Slot documents are small (N entries) and one per customer who ever
 * ordered, less than the orders themselves, which are kept; they are not purged.
 */
import { CustomerSlots, type CustomerSlotsDoc } from '../../../prisma-free-models/customer-slots';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { DomainError, isDuplicateKeyError } from '../errors';
import { CANCELLABLE_STATES, type OrderState } from '../orders/states';
import { customerKey } from './customer-key';

/** Orders that occupy a slot: the ones their customer can still cancel, i.e. placed and not yet paid or closed. */
const UNPAID_OPEN: ReadonlySet<OrderState> = new Set(CANCELLABLE_STATES);

/** How long a slot with no order yet is left alone: far longer than placeOrder takes between the two writes. */
export const ORPHAN_SLOT_GRACE_MS = 30_000;

export interface SlotRequest {
  email: string;
  cartId: string;
  /** N, the unpaid orders allowed at once. */
  limit: number;
}

/** The refusal when a customer has as many unpaid orders as allowed. */
export function unpaidOrdersLimitExceeded(limit: number): DomainError {
  return new DomainError(
    'LIMIT_EXCEEDED',
    `At most ${limit} unpaid orders per customer at once: pay for or cancel one before placing another`,
    { field: 'customer.email', limit: 'unpaid-orders-per-customer' },
  );
}

type SlotOrder = Pick<OrderDoc, 'state' | 'customer'> | null;

const orderOfCart = (cartId: string) => Order.findOne({ cartId }, { state: 1, customer: 1 }).lean<SlotOrder>();

/** Whether the order of a slot's cart no longer needs the slot of `key`. */
function releasable(order: SlotOrder, key: string): boolean {
  return order !== null && (!UNPAID_OPEN.has(order.state) || customerKey(order.customer.email) !== key);
}

/** Drops the slots that are free (see the header); returns how many. */
async function freeSlots(key: string, slots: CustomerSlotsDoc['slots'], now: Date): Promise<number> {
  const freed = await Promise.all(
    slots.map(async (slot) => {
      const order = await orderOfCart(slot.cartId);
      const orphan = order === null && now.getTime() - slot.at.getTime() > ORPHAN_SLOT_GRACE_MS;
      if (!orphan && !releasable(order, key)) return 0;
      // An order that left the unpaid states never returns to them, so its slot
      // goes whatever its `at`; an orphan only as seen, so a confirmed slot stays.
      const pulled = await CustomerSlots.updateOne({ _id: key }, { $pull: { slots: orphan ? { cartId: slot.cartId, at: slot.at } : { cartId: slot.cartId } } });
      return pulled.modifiedCount;
    }),
  );
  return freed.reduce((a, b) => a + b, 0);
}

/**
 * One update: pushes a slot for the cart if the customer's document has
 * room and no slot for it, creating the document on the customer's first
 * order (an upsert). When the document exists but the condition fails, the
 * upsert's insert collides with it on `_id`: false, as when it matched nothing.
 */
async function pushSlot(key: string, cartId: string, limit: number, now: Date): Promise<boolean> {
  try {
    const pushed = await CustomerSlots.updateOne(
      { _id: key, 'slots.cartId': { $ne: cartId }, [`slots.${limit - 1}`]: { $exists: false } },
      { $push: { slots: { cartId, at: now } } },
      { upsert: true },
    );
    return pushed.modifiedCount === 1 || pushed.upsertedCount === 1;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/**
 * Takes a slot for the cart's order, or throws LIMIT_EXCEEDED naming the
 * limit. A slot this cart already has (a concurrent or repeated call for the
 * same cart) is shared: the cart becomes one order at most.
 */
export async function takeCustomerSlot({ email, cartId, limit }: SlotRequest): Promise<void> {
  const key = customerKey(email);
  for (let round = 0; round < 5; round++) {
    const now = new Date();
    if (await pushSlot(key, cartId, limit, now)) return;
    const doc = await CustomerSlots.findById(key).lean<CustomerSlotsDoc>();
    if (!doc) continue; // the document's insert collided with a twin's that has not landed yet
    if (doc.slots.some((s) => s.cartId === cartId)) return;
    if (doc.slots.length < limit) continue; // freed meanwhile
    if ((await freeSlots(key, doc.slots, now)) === 0) throw unpaidOrdersLimitExceeded(limit);
  }
  throw unpaidOrdersLimitExceeded(limit);
}

/**
 * After the order is written: marks the cart's slot as confirmed, or takes
 * one again if a check dropped it meanwhile. False when none is free: the
 * order would exceed the cap.
 */
export async function confirmCustomerSlot(req: SlotRequest): Promise<boolean> {
  const key = customerKey(req.email);
  const refreshed = await CustomerSlots.updateOne(
    { _id: key, 'slots.cartId': req.cartId },
    { $set: { 'slots.$[slot].at': new Date() } },
    { arrayFilters: [{ 'slot.cartId': req.cartId }] },
  );
  if (refreshed.matchedCount === 1) return true;
  try {
    await takeCustomerSlot(req);
    return true;
  } catch (err) {
    if (err instanceof DomainError && err.code === 'LIMIT_EXCEEDED') return false;
    throw err;
  }
}

/** After placeOrder found the cart already ordered: gives the slot back unless that order is this customer's and unpaid. */
export async function releaseSlotUnlessHeld(email: string, cartId: string): Promise<void> {
  const key = customerKey(email);
  if (releasable(await orderOfCart(cartId), key)) {
    await CustomerSlots.updateOne({ _id: key }, { $pull: { slots: { cartId } } });
  }
}
