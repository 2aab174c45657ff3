/**
 * Server-side carts. The cart id is an unguessable capability; every change
 * is one atomic update of the cart document, so concurrent edits from two tabs
 * never lose a line or exceed the limits (MAX_QTY_PER_SKU units of a product,
 * MAX_LINES_PER_ORDER products). Once ordered, a cart records its order and
 * no longer changes: the order copied its lines, and placing it again is
 * refused (see orders/place-order.ts).
 */
import { Cart, type CartDoc } from '../../../prisma-free-models/cart';
import { insertValidated } from '../../../prisma-free-models/insert-validated';
import { linesLimitMessage, qtyLimitMessage, type OrderLimits } from '../abuse/order-caps';
import { findActiveProducts } from '../catalog/catalog';
import { priceLines, type PricedLines } from '../catalog/pricing';
import { DomainError } from '../errors';
import { newCartId } from '../ids';

export interface CartView extends PricedLines {
  cartId: string;
  /** The order this cart became, if it was ordered. */
  orderId: string | null;
}

/** A line as a client gives it. */
export interface CartLineInput {
  sku: string;
  qty: number;
}

/** What changing a cart needs: the shop's currency (for the view) and the order caps. */
export interface CartPolicy {
  currency: string;
  limits: Pick<OrderLimits, 'maxQtyPerSku' | 'maxLines'>;
}

/** Only a cart that has not become an order may change. */
const OPEN = { orderId: { $exists: false } };

async function loadCart(cartId: string): Promise<CartDoc> {
  const cart = await Cart.findById(cartId).lean<CartDoc>();
  if (!cart) throw new DomainError('NOT_FOUND', 'Cart not found', { field: 'cartId' });
  return cart;
}

/** The refusal for a cart that already became an order, naming it. */
export function cartAlreadyOrderedError(orderId: string): DomainError {
  return new DomainError('CART_ALREADY_ORDERED', `This cart was already ordered as ${orderId}; start a new cart to order again`, {
    field: 'cartId',
    orderId,
  });
}

/** Loads an open cart, for explaining why an update matched nothing. */
async function loadOpenCart(cartId: string): Promise<CartDoc> {
  const cart = await loadCart(cartId);
  if (cart.orderId) throw cartAlreadyOrderedError(cart.orderId);
  return cart;
}

/**
 * A new cart, empty or already holding `lines`: the storefront's first "add"
 * is one call and one insert, not a create and then an add. The lines pass
 * the checks of addCartLine (a sellable product, the per-product and
 * per-order caps), each product once; if any fails, nothing is written.
 */
export async function createCart(lines: readonly CartLineInput[], policy: CartPolicy): Promise<CartView> {
  const seen = new Set<string>();
  for (const line of lines) {
    if (seen.has(line.sku)) throw new DomainError('VALIDATION', `Product ${line.sku} is listed twice: give each product once, with its quantity`, { field: 'lines', sku: line.sku });
    seen.add(line.sku);
    assertQtyWithinLimit(line.qty, policy);
  }
  if (lines.length > policy.limits.maxLines) throw new DomainError('LIMIT_EXCEEDED', linesLimitMessage(policy.limits), { field: 'lines', limit: 'lines' });
  if (lines.length > 0) await assertSellable(lines.map((l) => l.sku));
  const cart = await insertValidated(Cart, { _id: newCartId(), lines: lines.map(({ sku, qty }) => ({ sku, qty })) });
  return priced(cart, policy.currency);
}

function view(cart: CartDoc, priced: PricedLines): CartView {
  return { cartId: cart._id, orderId: cart.orderId ?? null, ...priced };
}

async function priced(cart: CartDoc, currency: string): Promise<CartView> {
  return view(cart, await priceLines(cart.lines, currency));
}

export async function getCart(cartId: string, currency: string): Promise<CartView> {
  return priced(await loadCart(cartId), currency);
}

async function assertSellable(skus: readonly string[]): Promise<void> {
  const products = await findActiveProducts(skus);
  const missing = skus.find((sku) => !products.has(sku));
  if (missing) throw new DomainError('UNKNOWN_SKU', `Unknown or withdrawn product ${missing}`, { field: 'sku', sku: missing });
}

function assertQtyWithinLimit(qty: number, policy: CartPolicy): void {
  if (qty > policy.limits.maxQtyPerSku) throw new DomainError('LIMIT_EXCEEDED', qtyLimitMessage(policy.limits), { field: 'qty', limit: 'qty-per-sku' });
}

/** Adds qty of a SKU: a new line, or more of an existing one (up to the per-product limit). */
export async function addCartLine(cartId: string, sku: string, qty: number, policy: CartPolicy): Promise<CartView> {
  const { maxQtyPerSku, maxLines } = policy.limits;
  assertQtyWithinLimit(qty, policy);
  await assertSellable([sku]);
  // A new line, only while the SKU is absent and the cart has room. Each
  // update returns the cart it wrote, which the answer shows (no second read).
  const pushed = await Cart.findOneAndUpdate(
    { _id: cartId, ...OPEN, 'lines.sku': { $ne: sku }, [`lines.${maxLines - 1}`]: { $exists: false } },
    { $push: { lines: { sku, qty } } },
    { returnDocument: 'after' },
  ).lean<CartDoc>();
  if (pushed) return priced(pushed, policy.currency);
  // More of an existing line, only while the result stays within the limit.
  const bumped = await Cart.findOneAndUpdate(
    { _id: cartId, ...OPEN, lines: { $elemMatch: { sku, qty: { $lte: maxQtyPerSku - qty } } } },
    // arrayFilters, not the positional `$`: mongo-java-server cannot combine
    // `$` with an $elemMatch filter; both are atomic on MongoDB.
    { $inc: { 'lines.$[line].qty': qty } },
    { arrayFilters: [{ 'line.sku': sku }], returnDocument: 'after' },
  ).lean<CartDoc>();
  if (bumped) return priced(bumped, policy.currency);
  const cart = await loadOpenCart(cartId);
  if (cart.lines.some((l) => l.sku === sku)) {
    throw new DomainError('LIMIT_EXCEEDED', qtyLimitMessage(policy.limits), { field: 'qty', limit: 'qty-per-sku' });
  }
  throw new DomainError('LIMIT_EXCEEDED', linesLimitMessage(policy.limits), { field: 'sku', limit: 'lines' });
}

export async function setCartLineQty(cartId: string, sku: string, qty: number, policy: CartPolicy): Promise<CartView> {
  assertQtyWithinLimit(qty, policy);
  const cart = await Cart.findOneAndUpdate({ _id: cartId, ...OPEN, 'lines.sku': sku }, { $set: { 'lines.$.qty': qty } }, { returnDocument: 'after' }).lean<CartDoc>();
  if (cart) return priced(cart, policy.currency);
  await loadOpenCart(cartId);
  throw new DomainError('NOT_FOUND', `The cart has no line for ${sku}`, { field: 'sku' });
}

export async function removeCartLine(cartId: string, sku: string, currency: string): Promise<CartView> {
  const cart = await Cart.findOneAndUpdate({ _id: cartId, ...OPEN }, { $pull: { lines: { sku } } }, { returnDocument: 'after' }).lean<CartDoc>();
  // Nothing matched: loadOpenCart says why (no such cart, or it became an order).
  return priced(cart ?? (await loadOpenCart(cartId)), currency);
}

/** The lines of a cart that has not been ordered yet, for placing its order. */
export async function cartForOrder(cartId: string): Promise<{ sku: string; qty: number }[]> {
  const cart = await loadOpenCart(cartId);
  return cart.lines.map((l) => ({ sku: l.sku, qty: l.qty }));
}

/**
 * Records on the cart the order it became. The order's unique cartId is what
 * decides; this makes the cart read-only and lets its owner see the order.
 * Repeating it changes nothing.
 */
export async function markCartOrdered(cartId: string, orderId: string): Promise<void> {
  await Cart.updateOne({ _id: cartId, ...OPEN }, { $set: { orderId } });
}
